import type { Analysis } from "../analysis/analysis.ts";
import type { Evidence } from "../evidence/gather.ts";
import type { RankedGroup } from "../grouping/rank.ts";

export interface ActionResult {
  kind: "pull_request" | "incident";
  status: "created" | "updated" | "skipped" | "dry_run" | "failed";
  url?: string;
  /** Where a dry run wrote the would-be body. */
  path?: string;
  reason?: string;
}

export interface ActionInput {
  group: RankedGroup;
  analysis: Analysis;
  evidence: Evidence;
  traceLinks: string[];
}

/** Where the outcome of a group goes: dry-run files today, GitHub and Jira behind the same shape. */
export interface ActionSink {
  act(input: ActionInput): Promise<ActionResult[]>;
}

/** Marker embedded in every body we write, so reruns can find their own tickets and PRs. */
export function fingerprintMarker(fingerprint: string): string {
  return `<!-- tracefix:fingerprint=${fingerprint} -->`;
}

export function branchFor(fingerprint: string): string {
  return `triage/${fingerprint}`;
}

/**
 * The ids in a ticket or PR body that tracefix owns (fingerprint, marker, branch, SHAs, trace ids,
 * links): masked during the last redaction pass, so the marker the next night searches for
 * survives even when a fingerprint happens to look like a card number.
 */
export function identifiersOf({ group, evidence, traceLinks }: ActionInput): string[] {
  const values = [
    fingerprintMarker(group.fingerprint),
    branchFor(group.fingerprint),
    group.fingerprint,
    group.commitSha,
    evidence.commit?.sha,
    evidence.repository,
    evidence.pullRequest?.url,
    evidence.pullRequest?.branch,
    evidence.workItem?.key,
    evidence.workItem?.url,
    ...group.samples.map((s) => s.traceId),
    ...traceLinks,
    ...evidence.suspects.flatMap((s) => [s.commitSha, s.path]),
  ];
  return values.filter((v): v is string => typeof v === "string" && v !== "");
}
