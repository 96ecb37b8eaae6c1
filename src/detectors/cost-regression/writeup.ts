import type { Analysis } from "../../analysis/analysis.ts";
import type { Evidence } from "../../evidence/gather.ts";
import { STRONG_SUSPECT, suspectFor } from "../../evidence/suspects.ts";
import type { ErrorGroup } from "../../grouping/collector.ts";
import { formatAmount, formatUsd, regressionFacts, unitOf } from "./figures.ts";
import type { Regression } from "./regression.ts";

/**
 * The offline analyst's cost-regression writeup: the figures, and the commit's query hunk when
 * one stands out. It never proposes a patch and never names a cause the diff does not show.
 */
export function costRegressionWriteup(group: ErrorGroup, r: Regression, evidence: Evidence): Analysis {
  const commit = evidence.commit;
  const short = (group.commitSha ?? "?").slice(0, 12);
  const money = r.extraCostUsdPerDay !== null ? `, about ${formatUsd(r.extraCostUsdPerDay)} a day extra` : "";
  const summary = `${unitOf(r)} on ${group.service} ${r.operation} rose ×${r.ratio.toFixed(2)} (${formatAmount(r.baseline.mean)} → ${formatAmount(r.current.mean)}) after ${short}, for ${r.tenants.affected} of ${r.tenants.total} tenants${money}. No error was raised.`;
  const evidenceLines = regressionFacts(r, group.commitSha);
  const base = {
    analyst: "offline" as const,
    summary,
    violatedCriteria: [],
    fix: null,
  };
  const top = evidence.suspects[0];
  if (!commit) {
    return {
      ...base,
      rootCause: `Undetermined: the step is in the figures, but there is no diff to look for its cause (${evidence.diffUnavailable ?? "no commit"}).`,
      confidence: 0.2,
      category: "unknown",
      suspect: null,
      evidence: evidenceLines,
      investigationSteps: [
        "Re-run with --repo-dir pointing at a checkout that contains the deployed commit.",
        `Compare ${r.operation}'s queries on ${r.baseline.commitSha.slice(0, 7)} and ${short}.`,
      ],
    };
  }
  if (!top || top.score < STRONG_SUSPECT) {
    return {
      ...base,
      rootCause: `Undetermined: the per-unit step after ${short} is unlikely to be noise, but no changed line of ${short} ("${commit.subject}") changes a query${top ? `; the closest candidate is ${top.path} (${top.reason})` : ""}. The change may be in data shape, configuration, or an earlier commit of the same deploy.`,
      confidence: 0.3,
      category: "unknown",
      suspect: null,
      evidence: [
        ...evidenceLines,
        `commit ${short} changed: ${evidence.files.map((f) => f.path).join(", ") || "no files"}`,
      ],
      investigationSteps: [
        `Compare the query plans and bytes scanned of ${r.operation} for one affected tenant on ${r.baseline.commitSha.slice(0, 7)} and ${short}.`,
        "Check whether the input data (partitions, file sizes) changed at the same time.",
      ],
    };
  }
  return {
    ...base,
    rootCause: `Commit ${short} ("${commit.subject}", ${commit.author}) changed ${top.path}${top.line !== undefined ? `:${top.line}` : ""}: ${top.reason}. ${unitOf(r)} stepped up with this commit for ${r.tenants.affected} of ${r.tenants.total} tenants while volume-normalised figures on ${r.baseline.commitSha.slice(0, 7)} were steady.`,
    confidence: Math.min(0.85, Math.round((0.4 + 0.5 * top.score) * 100) / 100),
    category: "code_regression",
    suspect: suspectFor(commit.sha, top),
    evidence: [
      ...evidenceLines,
      ...evidence.suspects
        .slice(0, 3)
        .map(
          (s) =>
            `suspect ${s.path}${s.line !== undefined ? `:${s.line}` : ""} (score ${s.score}): ${s.reason}`,
        ),
    ],
    investigationSteps: [
      `Read the hunk of ${top.path} in ${short}${top.line !== undefined ? ` around line ${top.line}` : ""} and compare the query it builds with ${r.baseline.commitSha.slice(0, 7)}'s.`,
      `Check the worst tenant's query history (bytes scanned per run) since ${short} was deployed.`,
    ],
  };
}
