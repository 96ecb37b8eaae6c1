import {
  AGENT_PERMISSION_DENIED,
  AGENT_STOP_FAILURE,
  AGENT_TOOL,
  AGENT_TURN_STOP,
} from "../../telemetry/conventions.ts";
import type { CountQuery, CountRow, TelemetrySource } from "../../telemetry/source.ts";

export const TOOL = "gen_ai.tool.name";
export const SUCCESS = "gen_ai.tool.success";
export const SESSION = "session.id";
export const REPO = "git.repo";
export const ISSUE = "work_tracker.issue_id";
// The hook names first, then the GenAI semantic-convention names for the cache counts.
export const TOKEN_SUMS = [
  "gen_ai.usage.input_tokens",
  "gen_ai.usage.output_tokens",
  "gen_ai.usage.cache_read_tokens",
  "gen_ai.usage.cache_creation_tokens",
  "gen_ai.usage.cache_read.input_tokens",
  "gen_ai.usage.cache_creation.input_tokens",
] as const;

export interface AgentAggregates {
  toolsInWindow: CountRow[];
  toolsBefore: CountRow[];
  denials: CountRow[];
  /** Turns per session over lookback and window, with token sums; lastMs tells them apart. */
  turns: CountRow[];
  failed: Array<{ source: string; message: string }>;
  requests: number;
  truncated: boolean;
}

/**
 * Four aggregate queries per source, whatever the number of spans: tool calls in the window and
 * in the days before (by tool, success, repository, session), permission denials in the window,
 * and turns with their token sums per session.
 */
export async function readAgentAggregates(
  sources: readonly TelemetrySource[],
  window: { sinceMs: number; untilMs: number },
  lookbackMs: number,
): Promise<AgentAggregates> {
  const out: AgentAggregates = {
    toolsInWindow: [],
    toolsBefore: [],
    denials: [],
    turns: [],
    failed: [],
    requests: 0,
    truncated: false,
  };
  const stepMs = 10 * 60_000;
  const before = window.sinceMs - lookbackMs;
  const queries: Array<
    [keyof Pick<AgentAggregates, "toolsInWindow" | "toolsBefore" | "denials" | "turns">, CountQuery]
  > = [
    [
      "toolsInWindow",
      { names: [AGENT_TOOL], groupBy: [TOOL, SUCCESS, REPO, SESSION], sums: [], ...window, stepMs },
    ],
    [
      "toolsBefore",
      {
        names: [AGENT_TOOL],
        groupBy: [TOOL, SUCCESS, REPO, SESSION],
        sums: [],
        sinceMs: before,
        untilMs: window.sinceMs,
        stepMs,
      },
    ],
    [
      "denials",
      { names: [AGENT_PERMISSION_DENIED], groupBy: [TOOL, REPO, SESSION], sums: [], ...window, stepMs },
    ],
    [
      "turns",
      {
        names: [AGENT_TURN_STOP, AGENT_STOP_FAILURE],
        groupBy: [SESSION, REPO, ISSUE],
        sums: [...TOKEN_SUMS],
        sinceMs: before,
        untilMs: window.untilMs,
        stepMs,
      },
    ],
  ];
  // All at once: a file source reads its file once for all four, a backend runs them in parallel.
  const answers = await Promise.all(
    sources.flatMap((source) =>
      queries.map(async ([field, query]) => {
        try {
          return { field, result: await source.countBy(query) };
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          out.failed.push({ source: source.name, message: `${field}: ${message}` });
          return null;
        }
      }),
    ),
  );
  for (const answer of answers) {
    if (!answer) continue;
    out.requests += answer.result.requests;
    out.truncated ||= answer.result.truncated;
    out[answer.field] = merge(out[answer.field], answer.result.rows);
  }
  return out;
}

/** Rows with the same keys from several sources add up, as error groups do. */
function merge(into: CountRow[], rows: readonly CountRow[]): CountRow[] {
  const byKey = new Map(into.map((r) => [JSON.stringify(r.keys), r]));
  for (const row of rows) {
    const id = JSON.stringify(row.keys);
    const existing = byKey.get(id);
    if (!existing) {
      byKey.set(id, { ...row, sums: { ...row.sums } });
      continue;
    }
    existing.count += row.count;
    for (const [k, v] of Object.entries(row.sums)) existing.sums[k] = (existing.sums[k] ?? 0) + v;
    existing.firstMs = Math.min(existing.firstMs, row.firstMs);
    existing.lastMs = Math.max(existing.lastMs, row.lastMs);
  }
  return [...byKey.values()];
}
