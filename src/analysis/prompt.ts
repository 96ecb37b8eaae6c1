import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { hooksFor } from "../detectors/kinds.ts";
import type { Evidence } from "../evidence/gather.ts";
import { estimateTokens, trimDiffForAnalysis } from "../evidence/trim-diff.ts";
import type { RankedGroup } from "../grouping/rank.ts";

const PROMPTS_DIR = new URL("../../prompts/", import.meta.url);

export interface PromptTemplate {
  name: string;
  /** e.g. "root-cause v2": recorded with every analysis so a prompt change is traceable. */
  version: string;
  text: string;
}

/** Loads prompts/<name>.md and inlines `{{> partial}}` from prompts/partials/. */
export function loadPrompt(
  name: "root-cause" | "agent-failure" | "cost-regression" | "agent-behaviour",
): PromptTemplate {
  const raw = readFileSync(new URL(`${name}.md`, PROMPTS_DIR), "utf8");
  const version = /^<!-- prompt: (.+?) -->/.exec(raw)?.[1];
  if (!version) throw new Error(`prompts/${name}.md has no version line`);
  const text = raw
    .replace(/^<!--.*?-->\n/, "")
    .replace(/\{\{> ([\w-]+)\}\}/g, (_, partial: string) =>
      readFileSync(new URL(`partials/${partial}.md`, PROMPTS_DIR), "utf8").trim(),
    );
  return { name, version, text: text.trim() };
}

export interface TextBlock {
  type: "text";
  text: string;
  cache_control?: { type: "ephemeral" };
}

export interface BuiltPrompt {
  system: TextBlock[];
  userBlocks: TextBlock[];
  estimatedInputTokens: number;
  /** Identifies the cached prefix (system + commit evidence) shared by groups of one commit. */
  prefixKey: string;
  promptVersion: string;
}

interface Limits {
  commitDiffTokens: number;
  suspectHunkTokens: number;
  samples: number;
  stackLines: number;
  prBodyChars: number;
}

/**
 * The request for one group: a cacheable prefix (system prompt, then the commit's diff, PR,
 * acceptance criteria and agent notes, identical for every group of the commit) and the group's
 * own spans and suspect hunks after it. Limits shrink step by step until the estimate fits.
 */
export function buildPrompt(
  group: RankedGroup,
  evidence: Evidence,
  template: PromptTemplate,
  budgetTokens: number,
  diffTokenBudget: number,
): BuiltPrompt {
  const steps: Limits[] = [
    {
      commitDiffTokens: diffTokenBudget,
      suspectHunkTokens: 4_000,
      samples: 5,
      stackLines: 40,
      prBodyChars: 4_000,
    },
    {
      commitDiffTokens: Math.floor(diffTokenBudget / 2),
      suspectHunkTokens: 2_500,
      samples: 3,
      stackLines: 25,
      prBodyChars: 1_500,
    },
    {
      commitDiffTokens: Math.floor(diffTokenBudget / 6),
      suspectHunkTokens: 1_200,
      samples: 2,
      stackLines: 15,
      prBodyChars: 500,
    },
    { commitDiffTokens: 0, suspectHunkTokens: 600, samples: 1, stackLines: 10, prBodyChars: 0 },
  ];
  let built: BuiltPrompt | null = null;
  for (const limits of steps) {
    built = assemble(group, evidence, template, limits);
    if (built.estimatedInputTokens <= budgetTokens) return built;
  }
  // Last resort: cut the group block's text so the request can never exceed the budget.
  const last = built as BuiltPrompt;
  const fixed =
    estimateTokens(last.system.map((b) => b.text).join("")) + estimateTokens(last.userBlocks[0]?.text ?? "");
  const room = Math.max(0, budgetTokens - fixed - 50) * 3;
  const groupBlock = last.userBlocks[1];
  if (groupBlock)
    groupBlock.text = `${groupBlock.text.slice(0, room)}\n[group evidence cut to fit the input budget]`;
  return {
    ...last,
    estimatedInputTokens: estimateTokens([...last.system, ...last.userBlocks].map((b) => b.text).join("")),
  };
}

function assemble(
  group: RankedGroup,
  evidence: Evidence,
  template: PromptTemplate,
  limits: Limits,
): BuiltPrompt {
  const system: TextBlock[] = [{ type: "text", text: template.text, cache_control: { type: "ephemeral" } }];
  const commitText = commitEvidence(evidence, limits);
  const groupText = groupEvidence(group, evidence, limits);
  const userBlocks: TextBlock[] = [
    { type: "text", text: commitText, cache_control: { type: "ephemeral" } },
    { type: "text", text: `${groupText}\nAnalyse this error group and answer with the JSON object.` },
  ];
  return {
    system,
    userBlocks,
    estimatedInputTokens: estimateTokens(template.text + commitText + groupText) + 100,
    prefixKey: createHash("sha256").update(template.text).update(commitText).digest("hex").slice(0, 16),
    promptVersion: template.version,
  };
}

function commitEvidence(evidence: Evidence, limits: Limits): string {
  const parts: string[] = [];
  const commit = evidence.commit;
  parts.push(
    fence(
      "commit",
      commit
        ? `${commit.sha}\nSubject: ${commit.subject}\nAuthor: ${commit.author} at ${commit.authoredAt}\nRepository: ${evidence.repository ?? "unknown"}`
        : `No commit: ${evidence.diffUnavailable ?? "unknown"}`,
    ),
  );
  if (commit && limits.commitDiffTokens > 0) {
    const trimmed = trimDiffForAnalysis(evidence.files, [], limits.commitDiffTokens);
    const notes = [...evidence.diffNotes, ...trimmed.omitted];
    parts.push(
      fence(
        "diff",
        `${trimmed.text}${notes.length ? `\nOmitted or missing:\n${notes.map((n) => `- ${n}`).join("\n")}` : ""}`,
      ),
    );
  } else if (commit) {
    parts.push(
      fence(
        "diff",
        `Changed files: ${evidence.files.map((f) => `${f.path} (+${f.additions}/-${f.deletions})`).join(", ")}`,
      ),
    );
  }
  const pr = evidence.pullRequest;
  if (pr) {
    const body = limits.prBodyChars > 0 ? `\n\n${pr.body.slice(0, limits.prBodyChars)}` : "";
    parts.push(
      fence(
        "pull-request",
        `#${pr.number} ${pr.title}\nBranch: ${pr.branch}\nAuthor: ${pr.author ?? "unknown"}, merged ${pr.mergedAt ?? "not merged"}${body}`,
      ),
    );
  }
  const item = evidence.workItem;
  if (item) {
    parts.push(
      fence(
        "acceptance-criteria",
        `${item.key}: ${item.summary} (${item.status}; from the ${item.criteriaSource})\n\n${item.acceptanceCriteria || "(none written)"}`,
      ),
    );
    if (item.agentNotes.length > 0) parts.push(fence("agent-notes", item.agentNotes.join("\n\n---\n\n")));
  }
  return parts.join("\n\n");
}

function groupEvidence(group: RankedGroup, evidence: Evidence, limits: Limits): string {
  const parts = [
    fence(
      "error-group",
      [
        `Title: ${group.title}`,
        `Kind: ${group.kind}; service: ${group.service}; commit: ${group.commitSha ?? "unknown"}`,
        `Count: ${group.count} between ${new Date(group.firstSeenMs).toISOString()} and ${new Date(group.lastSeenMs).toISOString()}${group.newCommit ? " (commit first seen in this window)" : ""}`,
        `Grouped by: ${group.grouping.basis}; first in-app frame ${group.grouping.frame ?? "none"}; message "${group.grouping.message}"`,
      ].join("\n"),
    ),
  ];
  const facts = hooksFor(group)?.facts(group);
  if (facts) parts.push(fence(facts.kind, facts.text));
  if (evidence.agentSessions.length > 0) parts.push(fence("agent-sessions", describeSessions(evidence)));
  group.samples.slice(0, limits.samples).forEach((sample, i) => {
    const stack = sample.stacktrace.split("\n").slice(0, limits.stackLines).join("\n");
    parts.push(
      fence(
        `span ${i + 1}`,
        `${sample.name} at ${new Date(sample.timeMs).toISOString()} (trace ${sample.traceId})\n${sample.exceptionType ?? "error"}: ${sample.message}\nAttributes: ${JSON.stringify(sample.attributes).slice(0, 1_500)}${stack ? `\nStack trace:\n${stack}` : ""}`,
      ),
    );
  });
  if (evidence.suspects.length > 0) {
    parts.push(
      fence(
        "suspects",
        evidence.suspects
          .slice(0, 5)
          .map((s) => `${s.path}${s.line !== undefined ? `:${s.line}` : ""} (score ${s.score}): ${s.reason}`)
          .join("\n"),
      ),
    );
    const hunks = trimDiffForAnalysis(
      evidence.files.filter((f) => evidence.suspects.some((s) => s.path === f.path)),
      evidence.suspects,
      limits.suspectHunkTokens,
    );
    if (hunks.text) parts.push(fence("suspect-hunks", hunks.text));
  }
  return parts.join("\n\n");
}

/** The coding-agent sessions that wrote the commit: how each was linked, its figures and plan. */
export function describeSessions(evidence: Evidence): string {
  return evidence.agentSessions
    .map(
      (s) =>
        `session ${s.sessionId} (linked by ${s.link}: ${s.checked}): ${s.toolCalls} tool calls, ${s.toolFailures} failed, ${s.permissionDenials} permission denials, ${s.inputTokens} input / ${s.outputTokens} output tokens` +
        (s.filesModified.length > 0 ? `; files modified: ${s.filesModified.join(", ")}` : "") +
        (s.plan ? `\nPlan:\n${s.plan}` : ""),
    )
    .join("\n\n");
}

/** Evidence blocks are labelled and closed; text that tries to close a block early is neutralised. */
function fence(kind: string, content: string): string {
  const safe = content.replace(/<\/?evidence/gi, (m) => m.replace("<", "‹"));
  return `<evidence kind="${kind}">\n${safe}\n</evidence>`;
}
