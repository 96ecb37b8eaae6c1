import type { TimeWindow } from "../telemetry/source.ts";
import type { ErrorGroup } from "./collector.ts";

export interface RankedGroup extends ErrorGroup {
  rank: number;
  score: number;
  /** The group's commit was first seen inside the window: likely a fresh regression. */
  newCommit: boolean;
}

// A fresh deploy that starts failing is what on-call wants first; the boost says how much first.
const NEW_COMMIT_BOOST = 1.5;

/**
 * Orders groups by log(count) × recency × new-commit boost; kinds with an impact (a cost
 * regression's extra spend) use it in place of the count. Log, because 10,000 copies of one
 * noisy error should not bury 40 copies of a new regression.
 */
export function rankGroups(
  groups: readonly ErrorGroup[],
  window: TimeWindow,
  commitFirstSeen: (sha: string) => number | undefined,
): RankedGroup[] {
  const span = Math.max(1, window.untilMs - window.sinceMs);
  const scored = groups.map((group) => {
    const firstSeen = group.commitSha ? commitFirstSeen(group.commitSha) : undefined;
    const newCommit = firstSeen !== undefined && firstSeen >= window.sinceMs;
    const recency = Math.min(1, Math.max(0, (group.lastSeenMs - window.sinceMs) / span));
    const score =
      Math.log2(1 + (group.impact ?? group.count)) *
      (0.5 + 0.5 * recency) *
      (newCommit ? NEW_COMMIT_BOOST : 1);
    return { ...group, newCommit, score: Math.round(score * 1000) / 1000, rank: 0 };
  });
  scored.sort((a, b) => b.score - a.score || b.count - a.count || a.fingerprint.localeCompare(b.fingerprint));
  return scored.map((group, index) => ({ ...group, rank: index + 1 }));
}

/**
 * The same error (service and slug) on another commit that ran before this group's commit, with
 * its count: evidence that the error predates this deploy. Null when the data read holds none.
 */
export function earlierOccurrence(
  group: ErrorGroup,
  all: readonly ErrorGroup[],
  commitFirstSeen: (sha: string) => number | undefined,
): { commitSha: string; count: number } | null {
  if (!group.commitSha) return null;
  const ours = commitFirstSeen(group.commitSha) ?? group.firstSeenMs;
  let best: { commitSha: string; count: number } | null = null;
  for (const other of all) {
    if (other.slug !== group.slug || other.service !== group.service) continue;
    if (!other.commitSha || other.commitSha === group.commitSha) continue;
    const theirs = commitFirstSeen(other.commitSha) ?? other.firstSeenMs;
    if (theirs >= ours) continue;
    if (!best || other.count > best.count) best = { commitSha: other.commitSha, count: other.count };
  }
  return best;
}
