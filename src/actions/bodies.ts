import type { Analysis } from "../analysis/analysis.ts";
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
    ...section("Evidence", analysis.evidence),
    ...section(
      "Suspects",
      evidence.suspects.map(
        (s) => `${s.path}${s.line !== undefined ? `:${s.line}` : ""} (score ${s.score}) — ${s.reason}`,
      ),
    ),
    ...section("Violated acceptance criteria", analysis.violatedCriteria),
    ...section("Investigation steps", analysis.investigationSteps),
    ...section(
      "Sample traces",
      traceLinks.length > 0 ? traceLinks : group.samples.map((s) => `trace ${s.traceId}`),
    ),
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

function section(title: string, items: readonly string[]): string[] {
  return items.length === 0 ? [] : ["", `## ${title}`, ...items.map((item) => `- ${item}`)];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
