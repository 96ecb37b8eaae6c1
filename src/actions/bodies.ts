import type { Analysis } from "../analysis/analysis.ts";
import { hooksFor } from "../detectors/kinds.ts";
import { parseStackTrace } from "../grouping/stack-frames.ts";
import { type ActionInput, branchFor, fingerprintMarker } from "./action.ts";

/** The incident ticket as markdown (the Jira sink converts the same content to ADF). */
export function renderIncidentBody({ group, analysis, evidence, traceLinks }: ActionInput): string {
  const lines = [
    `# ${group.title}`,
    "",
    `**Service:** ${group.service} · **Commit:** ${group.commitSha ?? "unknown"} · **Count:** ${group.count}`,
    `**First seen:** ${iso(group.firstSeenMs)} · **Last seen:** ${iso(group.lastSeenMs)}`,
    ...(group.issueKey ? [`**Work item:** ${group.issueKey}`] : []),
    "",
    "## Summary",
    analysis.summary,
    "",
    "## Root cause",
    analysis.rootCause,
    "",
    `Confidence ${analysis.confidence} · category ${analysis.category} · analyst ${analysis.analyst}`,
    ...(hooksFor(group)?.ticket(group) ?? []),
    ...section("Evidence", analysis.evidence),
    ...section(
      "Suspects",
      evidence.suspects.map(
        (s) => `${s.path}${s.line !== undefined ? `:${s.line}` : ""} (score ${s.score}) — ${s.reason}`,
      ),
    ),
    ...section(
      "Coding-agent sessions behind the commit",
      evidence.agentSessions.map(
        (s) =>
          `${s.sessionId} (linked by ${s.link}: ${s.checked}) — ${s.toolCalls} tool calls, ${s.toolFailures} failed, ${s.permissionDenials} permission denials${s.plan ? `; plan: ${s.plan.replace(/\s+/g, " ").slice(0, 300)}` : ""}`,
      ),
    ),
    ...section("Violated acceptance criteria", analysis.violatedCriteria),
    ...section("Investigation steps", analysis.investigationSteps),
    ...section(
      "Sample traces",
      traceLinks.length > 0
        ? traceLinks
        : group.samples.filter((s) => s.traceId).map((s) => `trace ${s.traceId}`),
    ),
    ...reproductionMarkdown(group),
    "",
    `Fingerprint \`${group.fingerprint}\` (slug \`${group.slug}\`, grouping v${group.grouping.version}).`,
    "",
    fingerprintMarker(group.fingerprint),
    "",
  ];
  return lines.join("\n");
}

/** The draft PR body; only rendered when the analysis carries a patch. */
export function renderPullRequestBody(
  { group, analysis, traceLinks }: ActionInput,
  fix: NonNullable<Analysis["fix"]>,
  ticketUrl: string | null,
): string {
  return [
    `Draft fix proposed by tracefix for **${group.title}** (${group.count} occurrences in ${group.service}).`,
    "",
    "## Root cause",
    analysis.rootCause,
    "",
    "## Fix",
    fix.rationale,
    ...section("Evidence", analysis.evidence),
    ...section("Violated acceptance criteria", analysis.violatedCriteria),
    ...section("Sample traces", traceLinks),
    "",
    `Incident ticket: ${ticketUrl ?? "not created yet (the next run links it)"}${group.issueKey ? ` · work item ${group.issueKey}` : ""}`,
    "",
    "## Reviewer checklist",
    "- [ ] The root cause matches the sample traces",
    "- [ ] The patch is minimal and covered by a test",
    "- [ ] Nothing outside the failing code path changed",
    "",
    `Branch \`${branchFor(group.fingerprint)}\` · confidence ${analysis.confidence} · analyst ${analysis.analyst}`,
    "",
    fingerprintMarker(group.fingerprint),
    "",
  ].join("\n");
}

/**
 * What the incident promises ("reproduce with the input from a sample span's attributes"): the
 * newest sample's attributes (redacted with the rest of the group) and its first in-app frames.
 */
export function reproductionOf(group: ActionInput["group"]): { attributes: string[]; stack: string[] } {
  const sample = group.samples[0];
  if (!sample) return { attributes: [], stack: [] };
  const attributes = Object.entries(sample.attributes)
    .filter(([key]) => !key.startsWith("exception."))
    .slice(0, MAX_REPRO_ATTRIBUTES)
    .map(([key, value]) => `${key} = ${typeof value === "string" ? value : JSON.stringify(value)}`);
  const frames = parseStackTrace(sample.stacktrace, { allFormats: true })
    .filter((f) => f.inApp)
    .slice(0, MAX_REPRO_FRAMES);
  const headline = sample.stacktrace.split("\n")[0]?.trim() ?? "";
  const stack =
    frames.length > 0
      ? [
          headline,
          ...frames.map(
            (f) => `at ${f.function || "<anonymous>"} (${f.file}${f.line !== null ? `:${f.line}` : ""})`,
          ),
        ]
      : [];
  return { attributes, stack: stack.filter(Boolean) };
}

function reproductionMarkdown(group: ActionInput["group"]): string[] {
  const { attributes, stack } = reproductionOf(group);
  if (attributes.length === 0 && stack.length === 0) return [];
  return [
    "",
    "## Reproduce",
    ...(attributes.length > 0
      ? ["Input from the newest sample span:", "", ...attributes.map((a) => `- \`${a}\``)]
      : []),
    ...(stack.length > 0 ? ["", "First in-app frames:", "", "```", ...stack, "```"] : []),
  ];
}

const MAX_REPRO_ATTRIBUTES = 12;
const MAX_REPRO_FRAMES = 5;

function section(title: string, items: readonly string[]): string[] {
  return items.length === 0 ? [] : ["", `## ${title}`, ...items.map((item) => `- ${item}`)];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
