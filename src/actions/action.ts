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
