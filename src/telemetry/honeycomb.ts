import pLimit from "p-limit";
import { UsageError } from "../usage-error.ts";
import {
  type BackendOptions,
  CAUSES_PER_GROUP,
  deliverAggregates,
  type GroupCounts,
  PRIOR_COMMIT_LOOKBACK_MS,
  SAMPLES_PER_QUERY,
} from "./backend.ts";
import { AGENT_BEHAVIOUR_SPANS, AGENT_STOP_FAILURE, AGENT_TURN_STOP } from "./conventions.ts";
import { CAUSE_FIELDS, type Field, GROUP_FIELDS, SAMPLE_FIELDS, spanFromFields } from "./fields.ts";
import {
  countOnHoneycomb,
  type Filter,
  MAX_SERIES_ROWS,
  measureOnHoneycomb,
  timeRange,
} from "./honeycomb-metrics.ts";
import { BackendError, createJsonClient, type JsonClient } from "./http.ts";
import type {
  CountQuery,
  CountResult,
  MetricQuery,
  MetricResult,
  SourceStats,
  SpanSink,
  TelemetrySource,
  TimeWindow,
} from "./source.ts";
import type { TelemetrySpan } from "./span.ts";

const MAX_BUCKETS = 500;
// Honeycomb's result rows: 1,000 with the time series on (MAX_SERIES_ROWS), up to 10,000 with it off.
const MAX_RESULT_ROWS = 10_000;
// Query runs are rate-limited per key (about 10 a minute); two at a time keeps 429s rare.
const SAMPLE_CONCURRENCY = 2;
const FIRST_POLL_MS = 200;
const MAX_POLL_MS = 5_000;
const SAMPLE_COLUMNS = ["trace.trace_id", "trace.span_id", "name", "error", "status_message"];

interface QueryResult {
  rows: Array<Record<string, unknown>>;
  series: Array<{ time: string; data: Record<string, unknown> }>;
  queryUrl: string | null;
}

/**
 * Honeycomb Query Data API: create a query spec, run it, poll until complete. One grouped COUNT
 * query (its time series gives first/last seen; a series-free run adds groups past 1,000), one
 * prior-commit query, then per top group one COUNT broken down by message and stack (exact counts
 * per cause) and one sample query broken down by trace id. Honeycomb keeps no raw rows, so a
 * sample's time is its group's last-seen time.
 */
export class HoneycombSource implements TelemetrySource {
  readonly name = "honeycomb" as const;
  readonly checks =
    "that HONEYCOMB_API_URL is reachable (US or EU host), HONEYCOMB_API_KEY has the Run Queries permission, and HONEYCOMB_DATASET exists";
  private readonly client: JsonClient;
  private readonly apiUrl: string;
  private readonly dataset: string;
  private readonly options: BackendOptions;
  private uiBase: string | null = null;
  private readonly firstPollMs: number;
  // The detectors ask for all their aggregates at once; query runs are rate-limited per key.
  private readonly aggregates = pLimit(SAMPLE_CONCURRENCY);

  /** `firstPollMs` exists for tests; Honeycomb's own client polls every 200 ms. */
  constructor(
    apiUrl: string,
    apiKey: string,
    dataset: string,
    options: BackendOptions,
    firstPollMs = FIRST_POLL_MS,
  ) {
    this.firstPollMs = firstPollMs;
    this.apiUrl = apiUrl.replace(/\/+$/, "");
    this.dataset = dataset;
    this.options = options;
    this.client = createJsonClient({
      backend: "Honeycomb",
      baseUrl: this.apiUrl,
      headers: { "X-Honeycomb-Team": apiKey },
      ...options,
      onRequest: (line) => options.onRequest?.(`honeycomb: ${line}`),
    });
  }

  async preflight(): Promise<void> {
    let auth: {
      api_key_access?: { queries?: boolean };
      team?: { slug?: string };
      environment?: { slug?: string };
    };
    try {
      auth = (await this.client.call("GET", "/1/auth")) as typeof auth;
    } catch (error) {
      if (error instanceof BackendError && (error.status === 401 || error.status === 403)) {
        throw new UsageError(
          `Honeycomb rejected HONEYCOMB_API_KEY (HTTP ${error.status} from ${this.apiUrl}); check the key`,
        );
      }
      return;
    }
    if (auth.api_key_access?.queries === false) {
      throw new UsageError("HONEYCOMB_API_KEY cannot run queries: give the key the Queries permission");
    }
    const team = auth.team?.slug;
    if (team) {
      const env = auth.environment?.slug;
      this.uiBase = `${uiHost(this.apiUrl)}/${encodeURIComponent(team)}${env ? `/environments/${encodeURIComponent(env)}` : ""}`;
    }
  }

  async collect(window: TimeWindow, sink: SpanSink): Promise<SourceStats> {
    const stats: SourceStats = {
      source: "honeycomb",
      spansRead: 0,
      spansMatched: 0,
      skippedLines: 0,
      problems: [],
      requests: 0,
      queryLinks: [],
      location: this.location,
    };
    try {
      const granularity = Math.max(60, Math.ceil((window.untilMs - window.sinceMs) / 1000 / MAX_BUCKETS));
      const grouped = await this.run({ ...groupedSpec(window), granularity });
      if (grouped.queryUrl) stats.queryLinks?.push(grouped.queryUrl);
      const prior = await this.run({
        calculations: [{ op: "COUNT" }],
        breakdowns: ["build.commit_sha"],
        filters: [{ column: "build.commit_sha", op: "exists" }],
        ...timeRange(window.sinceMs - PRIOR_COMMIT_LOOKBACK_MS, window.sinceMs),
        limit: MAX_SERIES_ROWS,
      });
      const groups = toGroups(grouped, granularity * 1000, window, GROUP_FIELDS);
      if (grouped.rows.length >= MAX_SERIES_ROWS) {
        const tail = await this.longTail(window, groups);
        groups.push(...tail.groups);
        if (tail.truncated)
          stats.problems.push({
            message: `more than ${MAX_RESULT_ROWS} groups; the smallest were not fetched`,
          });
      }
      await deliverAggregates({
        groups,
        priorCommits: prior.rows
          .map((row) => row["build.commit_sha"])
          .filter((sha): sha is string => typeof sha === "string" && sha !== ""),
        window,
        sink,
        stats,
        options: this.options,
        concurrency: SAMPLE_CONCURRENCY,
        fetchSamples: (group) => this.samplesFor(group, window),
        fetchCauses: async (group) =>
          toGroups(
            await this.run({
              calculations: [{ op: "COUNT" }],
              breakdowns: CAUSE_FIELDS.map((f) => f.name),
              filters: groupFilters(group.keys),
              filter_combination: "AND",
              ...timeRange(window.sinceMs, window.untilMs),
              granularity,
              orders: [{ op: "COUNT", order: "descending" }],
              limit: CAUSES_PER_GROUP,
            }),
            granularity * 1000,
            window,
            CAUSE_FIELDS,
          ),
      });
    } finally {
      stats.requests = this.client.requests;
    }
    return stats;
  }

  async countBy(query: CountQuery): Promise<CountResult> {
    return this.aggregates(() =>
      countOnHoneycomb(
        (spec) => this.run(spec),
        () => this.client.requests,
        query,
      ),
    );
  }

  async measure(query: MetricQuery): Promise<MetricResult> {
    return this.aggregates(() =>
      measureOnHoneycomb(
        (spec) => this.run(spec),
        () => this.client.requests,
        query,
      ),
    );
  }

  /**
   * Groups past the first 1,000. Honeycomb returns at most 1,000 rows while the time series is on
   * and up to 10,000 with it off, so the tail comes from a series-free run of the same breakdown:
   * exact counts, and the window's bounds for first/last seen (no series to read them from).
   */
  get location(): string {
    return `${this.apiUrl} (dataset ${this.dataset})`;
  }

  private async longTail(
    window: TimeWindow,
    head: GroupCounts[],
  ): Promise<{ groups: GroupCounts[]; truncated: boolean }> {
    // The same query without a granularity: Honeycomb then runs it series-free.
    const tail = await this.run(groupedSpec(window));
    const known = new Set(head.map((g) => JSON.stringify(g.keys)));
    return {
      groups: toGroups(tail, 0, window, GROUP_FIELDS).filter((g) => !known.has(JSON.stringify(g.keys))),
      truncated: tail.rows.length >= MAX_RESULT_ROWS,
    };
  }

  private async samplesFor(group: GroupCounts, window: TimeWindow): Promise<TelemetrySpan[]> {
    const result = await this.run({
      calculations: [{ op: "COUNT" }],
      breakdowns: [...SAMPLE_COLUMNS, ...SAMPLE_FIELDS.map((f) => f.name)],
      filters: groupFilters(group.keys),
      filter_combination: "AND",
      ...timeRange(window.sinceMs, window.untilMs),
      orders: [{ op: "COUNT", order: "descending" }],
      limit: SAMPLES_PER_QUERY,
    });
    return result.rows.map((row) => {
      const traceId = String(row["trace.trace_id"] ?? "");
      return spanFromFields(row, {
        traceId,
        spanId: String(row["trace.span_id"] ?? ""),
        name: String(row.name ?? ""),
        timeMs: group.lastSeenMs,
        isError: row.error === true,
        statusMessage: String(row.status_message ?? ""),
        ...(this.uiBase && traceId
          ? { traceUrl: `${this.uiBase}/trace?trace_id=${encodeURIComponent(traceId)}` }
          : {}),
      });
    });
  }

  /** Create the query spec, run it, and poll with backoff until Honeycomb says it is complete. */
  private async run(spec: Record<string, unknown>): Promise<QueryResult> {
    const dataset = encodeURIComponent(this.dataset);
    const query = (await this.client.call("POST", `/1/queries/${dataset}`, spec)) as { id?: string };
    if (!query.id) throw new BackendError("Honeycomb", 200, "query creation returned no id");
    // Honeycomb honours `limit` (up to 10,000) only with the series off; with it on, results stop
    // at 1,000 and a limit there is refused by a strict server.
    const withSeries = "granularity" in spec;
    let result = (await this.client.call("POST", `/1/query_results/${dataset}`, {
      query_id: query.id,
      disable_series: !withSeries,
      ...(withSeries ? {} : { limit: MAX_RESULT_ROWS }),
    })) as RawResult;
    const deadline = Date.now() + this.options.timeoutMs;
    let wait = this.firstPollMs;
    while (!result.complete) {
      if (!result.id) throw new BackendError("Honeycomb", 200, "query result has no id");
      if (Date.now() > deadline)
        throw new BackendError(
          "Honeycomb",
          null,
          `query result not complete after ${this.options.timeoutMs} ms`,
        );
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(MAX_POLL_MS, Math.round(wait * 1.5));
      result = (await this.client.call(
        "GET",
        `/1/query_results/${dataset}/${encodeURIComponent(result.id)}`,
      )) as RawResult;
    }
    return {
      rows: (result.data?.results ?? []).map((r) => r.data ?? {}),
      series: (result.data?.series ?? []).map((s) => ({ time: s.time ?? "", data: s.data ?? {} })),
      queryUrl: result.links?.query_url ?? null,
    };
  }
}

interface RawResult {
  id?: string;
  complete?: boolean;
  data?: {
    results?: Array<{ data?: Record<string, unknown> }>;
    series?: Array<{ time?: string; data?: Record<string, unknown> }>;
  };
  links?: { query_url?: string };
}

/** Error spans and failed agent turns counted by the coarse group fields. */
function groupedSpec(window: TimeWindow) {
  return {
    calculations: [{ op: "COUNT" }],
    breakdowns: GROUP_FIELDS.map((f) => f.name),
    // Failed agent turns carry status ERROR too (so `error` is true); tool failures and permission
    // denials do as well, but they are the agent's behaviour, counted by their own detector.
    filters: [
      { column: "error", op: "=", value: true },
      { column: "name", op: "not-in", value: [...AGENT_BEHAVIOUR_SPANS] },
    ],
    filter_combination: "AND",
    ...timeRange(window.sinceMs, window.untilMs),
    orders: [{ op: "COUNT", order: "descending" }],
    limit: MAX_SERIES_ROWS,
  };
}

/** Group values are telemetry going into a query: passed as JSON values, never spliced into text. */
function groupFilters(keys: Record<string, string>): Filter[] {
  const isAgent = Boolean(keys["error.type"] || keys["agent.stop_reason"]);
  return [
    isAgent
      ? { column: "name", op: "in", value: [AGENT_STOP_FAILURE, AGENT_TURN_STOP] }
      : { column: "error", op: "=", value: true },
    ...(isAgent ? [] : [{ column: "name", op: "not-in", value: [...AGENT_BEHAVIOUR_SPANS] }]),
    ...GROUP_FIELDS.map(({ name }): Filter => {
      const value = keys[name] ?? "";
      return value === "" ? { column: name, op: "does-not-exist" } : { column: name, op: "=", value };
    }),
  ];
}

function keysOf(data: Record<string, unknown>, fields: readonly Field[]): Record<string, string> {
  return Object.fromEntries(
    fields.map(({ name }) => {
      const value = data[name];
      return [name, value === null || value === undefined ? "" : String(value)];
    }),
  );
}

/**
 * Counts come from the results; first/last seen from the non-empty buckets of the series (or the
 * window's bounds when the series was off).
 */
function toGroups(
  result: QueryResult,
  bucketMs: number,
  window: TimeWindow,
  fields: readonly Field[],
): GroupCounts[] {
  const seen = new Map<string, { first: number; last: number }>();
  for (const point of result.series) {
    if (!(Number(point.data.COUNT) > 0)) continue;
    const id = JSON.stringify(keysOf(point.data, fields));
    const at = Date.parse(point.time);
    if (Number.isNaN(at)) continue;
    const current = seen.get(id);
    seen.set(id, { first: Math.min(current?.first ?? at, at), last: Math.max(current?.last ?? at, at) });
  }
  return result.rows
    .map((row) => {
      const keys = keysOf(row, fields);
      const times = seen.get(JSON.stringify(keys));
      return {
        keys,
        count: Math.round(Number(row.COUNT) || 0),
        firstSeenMs: Math.max(window.sinceMs, times?.first ?? window.sinceMs),
        lastSeenMs: times ? Math.min(window.untilMs - 1, times.last + bucketMs - 1) : window.untilMs - 1,
      };
    })
    .filter((g) => g.count > 0)
    .sort((a, b) => b.count - a.count);
}

/** api.honeycomb.io → ui.honeycomb.io (api.eu1 → ui.eu1); other hosts (proxies, fakes) are kept. */
function uiHost(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (url.hostname.startsWith("api.")) url.hostname = `ui.${url.hostname.slice(4)}`;
  return url.origin;
}
