import type { TelemetrySpan } from "../../src/telemetry/span.ts";
import { type FakeReply, type FakeServer, startFakeServer } from "./server.ts";
import { flatValue } from "./span-store.ts";

/**
 * Honeycomb's Query Data API over an in-memory span set: /1/auth, query specs, query runs with a
 * per-minute run budget (429 + Retry-After past it), results that are incomplete on the first
 * polls, and filters/breakdowns/COUNT/orders/limit/granularity evaluated for real.
 */
export interface FakeHoneycomb extends FakeServer {
  spans: TelemetrySpan[];
  runs: number;
}

export interface FakeHoneycombOptions {
  apiKey: string;
  dataset: string;
  spans: TelemetrySpan[];
  /** Query runs allowed per rolling minute before 429s. */
  runsPerMinute?: number;
  retryAfterSeconds?: number;
  /** Polls that answer complete: false before the result is ready. */
  pollsUntilComplete?: number;
  canQuery?: boolean;
}

const OPS = new Set([
  "=",
  "!=",
  ">",
  ">=",
  "<",
  "<=",
  "exists",
  "does-not-exist",
  "contains",
  "does-not-contain",
  "starts-with",
  "in",
  "not-in",
]);
const CALC_OPS = new Set([
  "COUNT",
  "SUM",
  "AVG",
  "MAX",
  "MIN",
  "P50",
  "P95",
  "P99",
  "HEATMAP",
  "COUNT_DISTINCT",
]);

interface Spec {
  calculations?: Array<{ op?: string; column?: string }>;
  breakdowns?: string[];
  filters?: Array<{ column?: string; op?: string; value?: unknown }>;
  filter_combination?: string;
  time_range?: number;
  start_time?: number;
  end_time?: number;
  granularity?: number;
  orders?: Array<{ op?: string; column?: string; order?: string }>;
  limit?: number;
}

export async function startFakeHoneycomb(options: FakeHoneycombOptions): Promise<FakeHoneycomb> {
  const queries = new Map<string, Spec>();
  const results = new Map<string, { spec: Spec; polls: number; disableSeries: boolean; limit?: number }>();
  const runTimes: number[] = [];
  const state = { runs: 0 };
  const server = await startFakeServer((request, url) => {
    if (request.headers["x-honeycomb-team"] !== options.apiKey)
      return reply(401, { error: "unknown API key - check your credentials" });
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (request.method === "GET" && url.pathname === "/1/auth") {
      return reply(200, {
        id: "hcxik_test",
        type: "configuration",
        api_key_access: {
          boards: false,
          columns: true,
          events: false,
          markers: false,
          queries: options.canQuery ?? true,
        },
        environment: { name: "Production", slug: "production" },
        team: { name: "Acme", slug: "acme" },
      });
    }
    const [version, resource, dataset, id] = parts;
    if (version !== "1" || (resource !== "queries" && resource !== "query_results"))
      return reply(404, { error: "not found" });
    if (dataset !== options.dataset) return reply(404, { error: `dataset ${dataset} not found` });
    const body = request.body ? (JSON.parse(request.body) as Record<string, unknown>) : {};
    if (resource === "queries" && request.method === "POST") {
      const problem = validate(body as Spec);
      if (problem) return reply(400, { error: problem });
      const queryId = `q${queries.size + 1}`;
      queries.set(queryId, body as Spec);
      return reply(200, { id: queryId, ...body });
    }
    if (resource === "query_results" && request.method === "POST") {
      const spec = queries.get(String(body.query_id));
      if (!spec) return reply(404, { error: `query ${String(body.query_id)} not found` });
      const now = Date.now();
      while (runTimes.length > 0 && (runTimes[0] ?? 0) < now - 60_000) runTimes.shift();
      if (runTimes.length >= (options.runsPerMinute ?? 1000)) {
        return reply(
          429,
          { error: "rate limit exceeded" },
          { "retry-after": String(options.retryAfterSeconds ?? 1) },
        );
      }
      // createQueryResult: `limit` (up to 10,000) applies only with disable_series; with the series
      // on the results stop at 1,000, and this fake refuses a limit there as a strict server would.
      const disableSeries = body.disable_series === true;
      if (body.limit !== undefined) {
        const limit = Number(body.limit);
        if (!disableSeries) return reply(400, { error: "limit may only be set when disable_series is true" });
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
          return reply(400, { error: "limit must be between 1 and 10000" });
      }
      runTimes.push(now);
      state.runs += 1;
      const resultId = `r${results.size + 1}`;
      results.set(resultId, {
        spec,
        polls: 0,
        disableSeries,
        ...(body.limit !== undefined ? { limit: Number(body.limit) } : {}),
      });
      return reply(200, { id: resultId, complete: false, links: links(resultId) });
    }
    if (resource === "query_results" && request.method === "GET" && id) {
      const result = results.get(id);
      if (!result) return reply(404, { error: `query result ${id} not found` });
      result.polls += 1;
      if (result.polls <= (options.pollsUntilComplete ?? 1))
        return reply(200, { id, complete: false, links: links(id) });
      return reply(200, {
        id,
        complete: true,
        data: evaluate(result.spec, options.spans, result.disableSeries, result.limit),
        links: links(id),
      });
    }
    return reply(405, { error: "method not allowed" });
  });
  return Object.defineProperties(server, {
    spans: { value: options.spans },
    runs: { get: () => state.runs },
  }) as FakeHoneycomb;

  function links(id: string) {
    return {
      query_url: `https://ui.honeycomb.io/acme/environments/production/datasets/${options.dataset}/result/${id}`,
      graph_image_url: "",
    };
  }
}

function reply(status: number, body: unknown, headers?: Record<string, string>): FakeReply {
  return { status, body, ...(headers ? { headers } : {}) };
}

function validate(spec: Spec): string | null {
  if (!Array.isArray(spec.calculations) && spec.calculations !== undefined)
    return "calculations must be a list";
  for (const c of spec.calculations ?? []) {
    if (!CALC_OPS.has(c.op ?? "")) return `unknown calculation op ${c.op}`;
    if (c.op !== "COUNT" && !c.column) return `calculation ${c.op} needs a column`;
  }
  for (const f of spec.filters ?? []) {
    if (!f.column) return "filter column is required";
    if (!OPS.has(f.op ?? "")) return `unknown filter op ${f.op}`;
    if ((f.op === "in" || f.op === "not-in") && !Array.isArray(f.value))
      return `filter op ${f.op} needs a list`;
  }
  if (spec.filter_combination && !["AND", "OR"].includes(spec.filter_combination))
    return "filter_combination must be AND or OR";
  if (spec.limit !== undefined && (spec.limit < 1 || spec.limit > 1000))
    return "limit must be between 1 and 1000";
  if (spec.time_range === undefined && (spec.start_time === undefined || spec.end_time === undefined)) {
    return "either time_range or start_time and end_time are required";
  }
  // Unix seconds have 10 digits; milliseconds would put the query in the year 50000.
  for (const t of [spec.start_time, spec.end_time])
    if (t !== undefined && (t < 1e9 || t > 1e10)) return "start_time and end_time are Unix seconds";
  if (spec.start_time !== undefined && spec.end_time !== undefined && spec.start_time >= spec.end_time)
    return "start_time must be before end_time";
  for (const o of spec.orders ?? []) {
    const byCalc = o.op && (spec.calculations ?? []).some((c) => c.op === o.op);
    const byBreakdown = o.column && (spec.breakdowns ?? []).includes(o.column);
    if (!byCalc && !byBreakdown) return "orders must reference a calculation or a breakdown";
  }
  return null;
}

function column(span: TelemetrySpan, name: string): string | number | boolean | null {
  switch (name) {
    case "trace.trace_id":
      return span.traceId;
    case "trace.span_id":
      return span.spanId;
    case "trace.parent_id":
      return span.parentSpanId || null;
    case "name":
      return span.name;
    case "duration_ms":
      return span.endTimeMs - span.startTimeMs;
    case "error":
      return span.status.code === 2 ? true : null;
    case "status_code":
      return span.status.code;
    case "status_message":
      return span.status.message || null;
    default:
      return flatValue(span, name);
  }
}

function matches(span: TelemetrySpan, filter: { column?: string; op?: string; value?: unknown }): boolean {
  const value = column(span, filter.column ?? "");
  switch (filter.op) {
    case "exists":
      return value !== null && value !== "";
    case "does-not-exist":
      return value === null || value === "";
    case "=":
      return value === filter.value || (value !== null && String(value) === String(filter.value));
    case "!=":
      return value === null || String(value) !== String(filter.value);
    case "in":
      return (filter.value as unknown[]).some((v) => String(v) === String(value));
    case "not-in":
      return !(filter.value as unknown[]).some((v) => String(v) === String(value));
    case "contains":
      return typeof value === "string" && value.includes(String(filter.value));
    case "starts-with":
      return typeof value === "string" && value.startsWith(String(filter.value));
    default:
      throw new Error(`the fake does not evaluate ${filter.op}`);
  }
}

function evaluate(spec: Spec, spans: TelemetrySpan[], disableSeries: boolean, resultLimit?: number) {
  const startMs = (spec.start_time ?? Date.now() / 1000 - (spec.time_range ?? 7200)) * 1000;
  const endMs = (spec.end_time ?? Date.now() / 1000) * 1000;
  const filters = spec.filters ?? [];
  const any = spec.filter_combination === "OR";
  const selected = spans.filter(
    (s) =>
      s.startTimeMs >= startMs &&
      s.startTimeMs < endMs &&
      (filters.length === 0 ||
        (any ? filters.some((f) => matches(s, f)) : filters.every((f) => matches(s, f)))),
  );
  const breakdowns = spec.breakdowns ?? [];
  const groups = new Map<string, { values: Record<string, unknown>; spans: TelemetrySpan[] }>();
  for (const span of selected) {
    const values = Object.fromEntries(breakdowns.map((b) => [b, column(span, b)]));
    const id = JSON.stringify(values);
    const group = groups.get(id) ?? { values, spans: [] };
    group.spans.push(span);
    groups.set(id, group);
  }
  const ordered = [...groups.values()]
    .sort((a, b) => b.spans.length - a.spans.length)
    .slice(0, disableSeries && resultLimit ? resultLimit : Math.min(spec.limit ?? 1000, 1000));
  // COUNT and SUM(column) as Honeycomb names them in results ("SUM(s3.bytes_scanned)").
  const calculate = (spans: TelemetrySpan[]) =>
    Object.fromEntries(
      (spec.calculations ?? [{ op: "COUNT" }]).map((c) => {
        if (c.op === "COUNT") return ["COUNT", spans.length];
        if (c.op !== "SUM") throw new Error(`the fake does not evaluate ${c.op}`);
        const total = spans.reduce((n, s) => {
          const v = column(s, c.column ?? "");
          return n + (typeof v === "number" && Number.isFinite(v) ? v : 0);
        }, 0);
        return [`SUM(${c.column})`, total];
      }),
    );
  const granularityMs = (spec.granularity ?? Math.max(1, Math.ceil((endMs - startMs) / 1000 / 100))) * 1000;
  const series = disableSeries
    ? []
    : ordered.flatMap((g) => {
        const buckets = new Map<number, TelemetrySpan[]>();
        for (const s of g.spans) {
          const bucket = startMs + Math.floor((s.startTimeMs - startMs) / granularityMs) * granularityMs;
          buckets.set(bucket, [...(buckets.get(bucket) ?? []), s]);
        }
        return [...buckets.entries()].map(([time, spans]) => ({
          time: new Date(time).toISOString(),
          data: { ...g.values, ...calculate(spans) },
        }));
      });
  return { series, results: ordered.map((g) => ({ data: { ...g.values, ...calculate(g.spans) } })) };
}
