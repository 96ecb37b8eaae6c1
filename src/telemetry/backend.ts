import pLimit from "p-limit";
import type { AggregateRow, SourceStats, SpanSink, TimeWindow } from "./source.ts";
import type { TelemetrySpan } from "./span.ts";

/** What the query backends (SigNoz, Honeycomb) share: client settings and sampling limits. */
export interface BackendOptions {
  timeoutMs: number;
  retries: number;
  maxRetryDelayMs: number;
  /** How many of the largest server-side groups get sample spans (one request each). */
  sampleGroups: number;
}

export const SAMPLES_PER_QUERY = 5;
// How far back a commit must have run for it not to count as new in the window.
export const PRIOR_COMMIT_LOOKBACK_MS = 7 * 86_400_000;
// Server-side group rows fetched per run; past this the smallest groups are reported as left out.
export const MAX_GROUP_ROWS = 1000;

/** "service.name=billing exception.type=TypeError" for messages about one server-side group. */
export function describeKeys(keys: Record<string, string>): string {
  return Object.entries(keys)
    .filter(([, v]) => v !== "")
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

export type GroupCounts = Omit<AggregateRow, "samples">;

export interface AggregateDelivery {
  groups: GroupCounts[];
  /** Commits that already ran before the window: never "new". */
  priorCommits: string[];
  window: TimeWindow;
  sink: SpanSink;
  stats: SourceStats;
  options: BackendOptions;
  concurrency: number;
  fetchSamples: (group: GroupCounts) => Promise<TelemetrySpan[]>;
}

/**
 * The shared tail of every query backend: sample the largest groups (bounded concurrency), hand
 * each group to the sink, and keep a failed sample query from costing the group its count.
 */
export async function deliverAggregates(delivery: AggregateDelivery): Promise<void> {
  const { groups, window, sink, stats, options } = delivery;
  if (groups.length >= MAX_GROUP_ROWS) {
    stats.problems.push({ message: `more than ${MAX_GROUP_ROWS} groups; the smallest were not fetched` });
  }
  for (const sha of delivery.priorCommits) sink.noteCommitSeen(sha.toLowerCase(), window.sinceMs - 1);
  const limit = pLimit(delivery.concurrency);
  const rows = await Promise.all(
    groups.map(async (group, index): Promise<AggregateRow> => {
      if (index >= options.sampleGroups) return { ...group, samples: [] };
      try {
        return { ...group, samples: await limit(() => delivery.fetchSamples(group)) };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        stats.problems.push({ message: `samples for ${describeKeys(group.keys)} unavailable: ${message}` });
        return { ...group, samples: [] };
      }
    }),
  );
  for (const row of rows) {
    stats.spansMatched += row.count;
    const sha = row.keys["build.commit_sha"];
    if (sha) sink.noteCommitSeen(sha.toLowerCase(), row.firstSeenMs);
    sink.addAggregate(row);
  }
}
