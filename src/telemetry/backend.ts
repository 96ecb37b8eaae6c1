import pLimit from "p-limit";
import type { AggregateRow, CauseCounts, SourceStats, SpanSink, TimeWindow } from "./source.ts";
import type { TelemetrySpan } from "./span.ts";

/** What the query backends (SigNoz, Honeycomb) share: client settings and sampling limits. */
export interface BackendOptions {
  timeoutMs: number;
  retries: number;
  maxRetryDelayMs: number;
  /** How many of the largest server-side groups get sample spans (one request each). */
  sampleGroups: number;
  /** --verbose: one line per request with its status and time. */
  onRequest?: (line: string) => void;
}

export const SAMPLES_PER_QUERY = 5;
// How far back a commit must have run for it not to count as new in the window.
export const PRIOR_COMMIT_LOOKBACK_MS = 7 * 86_400_000;
// Server-side group rows fetched per run; past this the smallest groups are reported as left out.
export const MAX_GROUP_ROWS = 1000;
// Distinct message/stack pairs counted per group; past this the rest is shared out by proportion.
export const CAUSES_PER_GROUP = 100;

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
  /** The group counted per distinct message and stack trace (one aggregate query). */
  fetchCauses: (group: GroupCounts) => Promise<CauseCounts[]>;
}

/**
 * The shared tail of every query backend: for the largest groups (bounded concurrency), count
 * them per cause and fetch samples, hand each group to the sink, and keep a failed query from
 * costing the group its count. Requests: two per sampled group, whatever the number of spans.
 */
export async function deliverAggregates(delivery: AggregateDelivery): Promise<void> {
  const { groups, window, sink, stats, options } = delivery;
  for (const sha of delivery.priorCommits) sink.noteCommitSeen(sha.toLowerCase(), window.sinceMs - 1);
  const limit = pLimit(delivery.concurrency);
  const rows = await Promise.all(
    groups.map(async (group, index): Promise<AggregateRow> => {
      if (index >= options.sampleGroups) return { ...group, samples: [] };
      const [causes, samples] = await limit(() =>
        Promise.all([
          delivery.fetchCauses(group).catch((error: unknown) => {
            stats.problems.push({
              message: `per-cause counts for ${describeKeys(group.keys)} unavailable (${messageOf(error)}); its count is shared out by its samples`,
            });
            return [];
          }),
          delivery.fetchSamples(group).catch((error: unknown) => {
            stats.problems.push({
              message: `samples for ${describeKeys(group.keys)} unavailable: ${messageOf(error)}`,
            });
            return [];
          }),
        ]),
      );
      const counted = causes.reduce((n, c) => n + c.count, 0);
      if (causes.length >= CAUSES_PER_GROUP && counted < group.count) {
        stats.problems.push({
          message: `${describeKeys(group.keys)} has more than ${CAUSES_PER_GROUP} distinct messages; ${group.count - counted} occurrence(s) were shared out by proportion`,
        });
      }
      return { ...group, samples, ...(causes.length > 0 ? { causes } : {}) };
    }),
  );
  for (const row of rows) {
    stats.spansMatched += row.count;
    const sha = row.keys["build.commit_sha"];
    if (sha) sink.noteCommitSeen(sha.toLowerCase(), row.firstSeenMs, row.keys["service.name"] || undefined);
    sink.addAggregate(row);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
