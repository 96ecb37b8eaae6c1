/**
 * Atlassian Document Format → readable markdown, for acceptance criteria and comments. Covers
 * the nodes people write in Jira; anything unknown still yields its text content.
 */
interface AdfNode {
  type?: string;
  text?: string;
  attrs?: Record<string, unknown>;
  marks?: Array<{ type?: string; attrs?: Record<string, unknown> }>;
  content?: AdfNode[];
}

export function adfToMarkdown(doc: unknown): string {
  if (typeof doc === "string") return doc;
  if (!doc || typeof doc !== "object") return "";
  return block(doc as AdfNode, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

function block(node: AdfNode, indent: string): string {
  const children = node.content ?? [];
  switch (node.type) {
    case "doc":
      return children.map((c) => block(c, indent)).join("");
    case "paragraph":
      return `${indent}${inline(children)}\n\n`;
    case "heading":
      return `${"#".repeat(Number(node.attrs?.level ?? 1))} ${inline(children)}\n\n`;
    case "bulletList":
      return `${children.map((item) => listItem(item, `${indent}- `, indent)).join("")}\n`;
    case "orderedList":
      return `${children.map((item, i) => listItem(item, `${indent}${i + 1}. `, indent)).join("")}\n`;
    case "taskList":
      return `${children.map((item) => listItem(item, `${indent}- [${item.attrs?.state === "DONE" ? "x" : " "}] `, indent)).join("")}\n`;
    case "codeBlock":
      return `\`\`\`${String(node.attrs?.language ?? "")}\n${children.map((c) => c.text ?? "").join("")}\n\`\`\`\n\n`;
    case "blockquote":
      return `${children
        .map((c) => block(c, "").trim())
        .join("\n")
        .split("\n")
        .map((l) => `> ${l}`)
        .join("\n")}\n\n`;
    case "rule":
      return "---\n\n";
    case "table":
      return `${children.map((row) => `| ${(row.content ?? []).map((cell) => inlineBlocks(cell)).join(" | ")} |`).join("\n")}\n\n`;
    case "panel":
    case "expand":
    case "nestedExpand":
      return children.map((c) => block(c, indent)).join("");
    default:
      return children.length > 0 ? children.map((c) => block(c, indent)).join("") : `${inline([node])}\n`;
  }
}

function listItem(item: AdfNode, bullet: string, indent: string): string {
  const parts = item.content ?? [];
  const [first, ...rest] = parts;
  const head =
    first?.type === "paragraph"
      ? inline(first.content ?? [])
      : first
        ? block(first, "").trim()
        : inline([item]);
  const nested = rest.map((c) => block(c, `${indent}  `)).join("");
  return `${bullet}${head}\n${nested}`;
}

function inlineBlocks(node: AdfNode): string {
  return (node.content ?? [])
    .map((c) => (c.type === "paragraph" ? inline(c.content ?? []) : block(c, "").trim()))
    .join(" ");
}

function inline(nodes: AdfNode[]): string {
  return nodes
    .map((node) => {
      switch (node.type) {
        case "text":
          return marked(node.text ?? "", node.marks ?? []);
        case "hardBreak":
          return "\n";
        case "mention":
          return String(node.attrs?.text ?? "@someone");
        case "emoji":
          return String(node.attrs?.text ?? node.attrs?.shortName ?? "");
        case "inlineCard":
        case "blockCard":
          return String(node.attrs?.url ?? "");
        case "status":
          return `[${String(node.attrs?.text ?? "")}]`;
        case "date":
          return String(
            node.attrs?.timestamp ? new Date(Number(node.attrs.timestamp)).toISOString().slice(0, 10) : "",
          );
        default:
          return inline(node.content ?? []) || (node.text ?? "");
      }
    })
    .join("");
}

function marked(text: string, marks: NonNullable<AdfNode["marks"]>): string {
  let out = text;
  for (const mark of marks) {
    if (mark.type === "code") out = `\`${out}\``;
    else if (mark.type === "strong") out = `**${out}**`;
    else if (mark.type === "em") out = `*${out}*`;
    else if (mark.type === "strike") out = `~~${out}~~`;
    else if (mark.type === "link" && typeof mark.attrs?.href === "string")
      out = `[${out}](${mark.attrs.href})`;
  }
  return out;
}
