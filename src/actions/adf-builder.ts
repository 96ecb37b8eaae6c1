/** A small builder for the ADF that incident tickets and comments are written in (Jira API v3). */
export type AdfInline = {
  type: "text";
  text: string;
  marks?: Array<{ type: string; attrs?: Record<string, string> }>;
};
export type AdfBlock = Record<string, unknown>;

export function text(value: string): AdfInline {
  return { type: "text", text: value || " " };
}

export function strong(value: string): AdfInline {
  return { type: "text", text: value || " ", marks: [{ type: "strong" }] };
}

export function code(value: string): AdfInline {
  return { type: "text", text: value || " ", marks: [{ type: "code" }] };
}

export function link(label: string, href: string): AdfInline {
  return { type: "text", text: label || href, marks: [{ type: "link", attrs: { href } }] };
}

export function paragraph(...inline: Array<AdfInline | string>): AdfBlock {
  return { type: "paragraph", content: inline.map((i) => (typeof i === "string" ? text(i) : i)) };
}

export function heading(level: 2 | 3, value: string): AdfBlock {
  return { type: "heading", attrs: { level }, content: [text(value)] };
}

export function bullets(items: Array<AdfInline[] | string>): AdfBlock {
  return {
    type: "bulletList",
    content: items.map((item) => ({
      type: "listItem",
      content: [paragraph(...(typeof item === "string" ? [text(item)] : item))],
    })),
  };
}

export function codeBlock(value: string, language = ""): AdfBlock {
  return {
    type: "codeBlock",
    attrs: language ? { language } : {},
    content: value ? [{ type: "text", text: value }] : [],
  };
}

export function document(...blocks: Array<AdfBlock | null>): {
  type: "doc";
  version: 1;
  content: AdfBlock[];
} {
  return { type: "doc", version: 1, content: blocks.filter((b): b is AdfBlock => b !== null) };
}
