import { UsageError } from "../usage-error.ts";
import {
  type BackendOptions,
  CAUSES_PER_GROUP,
  deliverAggregates,
  type GroupCounts,
  MAX_GROUP_ROWS,
  PRIOR_COMMIT_LOOKBACK_MS,
  SAMPLES_PER_QUERY,
} from "./backend.ts";
import { AGENT_BEHAVIOUR_SPANS, AGENT_STOP_FAILURE } from "./conventions.ts";
import { CAUSE_FIELDS, type Field, GROUP_FIELDS, SAMPLE_FIELDS, spanFromFields } from "./fields.ts";
import { BackendError, createJsonClient, type JsonClient } from "./http.ts";
import {
  countRequest,
  MAX_METRIC_SERIES,
  metricRequest,
  parseCountResponse,
  parseMetricResponse,
} from "./signoz-metrics.ts";
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

const MAX_BUCKETS = 720;
const SAMPLE_CONCURRENCY = 4;
// Tool failures and permission denials are the agent's behaviour (their own detector), not errors.
const TRIAGE_FILTER = `(has_error = true OR name = '${AGENT_STOP_FAILURE}')${AGENT_BEHAVIOUR_SPANS.map((n) => ` AND name != '${n}'`).join("")}`;

/**
 * SigNoz query-range API v5. The counting runs in ClickHouse: one time-series query groups and
 * counts (and gives first/last seen per group), one scalar query lists commits that ran before the
 * window, then per top group one time-series query counts it per cause (message and stack) and
 * one raw query fetches sample spans. Requests grow with groups, not spans.
 */
export class SignozSource implements TelemetrySource {
  readonly name = "signoz" as const;
  readonly checks =
    "that SIGNOZ_URL is reachable from this runner and SIGNOZ_API_KEY is a valid service-account key";
  private readonly url: string;
  private readonly client: JsonClient;
  private readonly options: BackendOptions;

  constructor(url: string, apiKey: string, options: BackendOptions) {
    this.url = url.replace(/\/+$/, "");
    this.options = options;
    this.client = createJsonClient({
      backend: "SigNoz",
      baseUrl: this.url,
      headers: { "SIGNOZ-API-KEY": apiKey },
      ...options,
      onRequest: (line) => options.onRequest?.(`signoz: ${line}`),
    });
  }

  async preflight(): Promise<void> {
    const end = Date.now();
    try {
      await this.query(scalarRequest(end - 60_000, end, "has_error = true", [], 1));
    } catch (error) {
      if (error instanceof BackendError && (error.status === 401 || error.status === 403)) {
        throw new UsageError(
          `SigNoz rejected SIGNOZ_API_KEY (HTTP ${error.status} from ${this.url}); check the key`,
        );
      }
      // Anything else (unreachable, 5xx) is reported when the run queries for real.
    }
  }

  async collect(window: TimeWindow, sink: SpanSink): Promise<SourceStats> {
    const stats: SourceStats = {
      source: "signoz",
      spansRead: 0,
      spansMatched: 0,
      skippedLines: 0,
      problems: [],
      requests: 0,
      location: this.url,
    };
    try {
      const step = Math.max(60, Math.ceil((window.untilMs - window.sinceMs) / 1000 / MAX_BUCKETS));
      const groups = parseSeries(
        await this.query(seriesRequest(window, step, TRIAGE_FILTER, GROUP_FIELDS, MAX_GROUP_ROWS)),
        step * 1000,
        window,
      );
      if (groups.length >= MAX_GROUP_ROWS)
        stats.problems.push({ message: `more than ${MAX_GROUP_ROWS} groups; the smallest were not fetched` });
      const prior = await this.query(
        scalarRequest(
          window.sinceMs - PRIOR_COMMIT_LOOKBACK_MS,
          window.sinceMs,
          "build.commit_sha EXISTS",
          [GROUP_FIELDS[1] as Field],
          MAX_GROUP_ROWS,
        ),
      );
      const priorCommits = parseScalar(prior)
        .map((row) => row["build.commit_sha"])
        .filter((sha): sha is string => typeof sha === "string" && sha !== "");
      await deliverAggregates({
        groups,
        priorCommits,
        window,
        sink,
        stats,
        options: this.options,
        concurrency: SAMPLE_CONCURRENCY,
        fetchSamples: async (group) =>
          parseRaw(await this.query(rawRequest(window, sampleFilter(group.keys)))).map((row) =>
            this.toSpan(row),
          ),
        fetchCauses: async (group) =>
          parseSeries(
            await this.query(
              seriesRequest(window, step, sampleFilter(group.keys), CAUSE_FIELDS, CAUSES_PER_GROUP),
            ),
            step * 1000,
            window,
          ),
      });
    } finally {
      stats.requests = this.client.requests;
    }
    return stats;
  }

  get location(): string {
    return this.url;
  }

  async countBy(query: CountQuery): Promise<CountResult> {
    const before = this.client.requests;
    let response: unknown;
    try {
      response = await this.query(countRequest(query));
    } catch (error) {
      // A key SigNoz has never seen: no span carries it, so there is nothing to count.
      if (error instanceof BackendError && error.status === 400 && /key .* not found/i.test(error.message)) {
        // A summed attribute SigNoz has never seen (the semconv name where the hooks use their
        // own): sum the others, and that one is 0. Any other unknown key: nothing to count.
        const unknown = /key `([^`]+)` not found/i.exec(error.message)?.[1];
        if (unknown && query.sums.includes(unknown)) {
          const rest = await this.countBy({ ...query, sums: query.sums.filter((k) => k !== unknown) });
          return {
            ...rest,
            rows: rest.rows.map((r) => ({ ...r, sums: { ...r.sums, [unknown]: 0 } })),
            requests: this.client.requests - before,
          };
        }
        return { rows: [], requests: this.client.requests - before, truncated: false };
      }
      throw error;
    }
    return { ...parseCountResponse(response, query), requests: this.client.requests - before };
  }

  async measure(query: MetricQuery): Promise<MetricResult> {
    const before = this.client.requests;
    const { body, parts } = metricRequest(query);
    let response: unknown;
    try {
      response = await this.query(body);
    } catch (error) {
      // SigNoz refuses a filter on a key it has never seen: no span carries the metric, so there
      // is nothing to compare (said in the report's skipped counts, not as a failure).
      if (error instanceof BackendError && error.status === 400 && /key .* not found/i.test(error.message))
        return {
          cells: [],
          notNumeric: 0,
          requests: this.client.requests - before,
          problems: [],
          unknownKey: true,
        };
      throw error;
    }
    const { cells, truncated } = parseMetricResponse(response, query, parts);
    return {
      cells,
      notNumeric: 0,
      requests: this.client.requests - before,
      problems: truncated
        ? [
            {
              message: `${query.metric}: more than ${MAX_METRIC_SERIES} series; the smallest were not fetched`,
            },
          ]
        : [],
    };
  }

  private toSpan(row: { timestamp: string; data: Record<string, unknown> }): TelemetrySpan {
    const traceId = String(row.data.trace_id ?? "");
    const spanId = String(row.data.span_id ?? "");
    return spanFromFields(row.data, {
      traceId,
      spanId,
      name: String(row.data.name ?? ""),
      timeMs: Date.parse(row.timestamp),
      isError: row.data.has_error === true || row.data.has_error === "true",
      statusMessage: String(row.data.status_message ?? ""),
      traceUrl: `${this.url}/trace/${encodeURIComponent(traceId)}${spanId ? `?spanId=${encodeURIComponent(spanId)}` : ""}`,
    });
  }

  private async query(body: unknown): Promise<unknown> {
    const response = (await this.client.call("POST", "/api/v5/query_range", body)) as { status?: string };
    if (response?.status !== "success") throw new BackendError("SigNoz", 200, "query did not succeed");
    return response;
  }
}

function builderQuery(spec: Record<string, unknown>) {
  return { type: "builder_query", spec: { name: "A", signal: "traces", disabled: false, ...spec } };
}

function envelope(startMs: number, endMs: number, requestType: string, spec: Record<string, unknown>) {
  return {
    schemaVersion: "v1",
    start: Math.floor(startMs),
    end: Math.ceil(endMs),
    requestType,
    compositeQuery: { queries: [builderQuery(spec)] },
    formatOptions: { formatTableResultForUI: false, fillGaps: false },
    variables: {},
  };
}

function key(field: Field) {
  return { name: field.name, fieldDataType: "string", signal: "traces", fieldContext: field.context };
}

const COUNT_DESC = [{ key: { name: "count()" }, direction: "desc" }];

function seriesRequest(
  window: TimeWindow,
  stepSeconds: number,
  filter: string,
  groupBy: readonly Field[],
  limit: number,
) {
  return envelope(window.sinceMs, window.untilMs, "time_series", {
    stepInterval: stepSeconds,
    filter: { expression: filter },
    aggregations: [{ expression: "count()" }],
    groupBy: groupBy.map(key),
    order: COUNT_DESC,
    limit,
    having: { expression: "" },
  });
}

function scalarRequest(startMs: number, endMs: number, filter: string, groupBy: Field[], limit: number) {
  return envelope(startMs, endMs, "scalar", {
    filter: { expression: filter },
    aggregations: [{ expression: "count()" }],
    groupBy: groupBy.map(key),
    order: COUNT_DESC,
    limit,
    having: { expression: "" },
  });
}

const SPAN_COLUMNS = ["trace_id", "span_id", "name", "has_error", "status_message"].map((name) => ({
  name,
  fieldDataType: "string",
  signal: "traces",
  fieldContext: "span",
}));

function rawRequest(window: TimeWindow, filter: string) {
  return envelope(window.sinceMs, window.untilMs, "raw", {
    filter: { expression: filter },
    selectFields: [...SPAN_COLUMNS, ...SAMPLE_FIELDS.map(key)],
    order: [{ key: { name: "timestamp" }, direction: "desc" }],
    limit: SAMPLES_PER_QUERY,
    offset: 0,
  });
}

/** Group values are telemetry (untrusted) going into a query string: quote and escape them. */
export function sampleFilter(keys: Record<string, string>): string {
  const parts = GROUP_FIELDS.map(({ name }) => {
    const value = keys[name] ?? "";
    return value === ""
      ? `${name} NOT EXISTS`
      : `${name} = '${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  });
  return [TRIAGE_FILTER, ...parts].join(" AND ");
}

interface SeriesResponse {
  data?: { data?: { results?: Array<{ aggregations?: Array<{ series?: Series[] }> }> } };
}
interface Series {
  labels?: Array<{ key?: { name?: string }; value?: unknown }>;
  values?: Array<{ timestamp?: number; value?: unknown }>;
}

function parseSeries(response: unknown, stepMs: number, window: TimeWindow): GroupCounts[] {
  const series = (response as SeriesResponse).data?.data?.results?.[0]?.aggregations?.[0]?.series ?? [];
  const groups = series.flatMap((s) => {
    const keys: Record<string, string> = {};
    for (const label of s.labels ?? []) {
      if (label.key?.name)
        keys[label.key.name] = label.value === null || label.value === undefined ? "" : String(label.value);
    }
    const points = (s.values ?? [])
      .map((v) => ({ at: Number(v.timestamp), n: toCount(v.value) }))
      .filter((p) => p.n > 0);
    if (points.length === 0) return [];
    const times = points.map((p) => p.at);
    return [
      {
        keys,
        count: points.reduce((sum, p) => sum + p.n, 0),
        firstSeenMs: Math.max(window.sinceMs, Math.min(...times)),
        lastSeenMs: Math.min(window.untilMs - 1, Math.max(...times) + stepMs - 1),
      },
    ];
  });
  return groups.sort((a, b) => b.count - a.count);
}

/** Counts can arrive as numbers, numeric strings, or "NaN"/"Inf" strings. */
function toCount(value: unknown): number {
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
}

interface ScalarResponse {
  data?: { data?: { results?: Array<{ columns?: Array<{ name?: string }>; data?: unknown[][] }> } };
}

function parseScalar(response: unknown): Array<Record<string, unknown>> {
  const result = (response as ScalarResponse).data?.data?.results?.[0];
  const columns = (result?.columns ?? []).map((c) => c.name ?? "");
  return (result?.data ?? []).map((row) => Object.fromEntries(columns.map((name, i) => [name, row[i]])));
}

interface RawResponse {
  data?: {
    data?: { results?: Array<{ rows?: Array<{ timestamp?: string; data?: Record<string, unknown> }> }> };
  };
}

function parseRaw(response: unknown): Array<{ timestamp: string; data: Record<string, unknown> }> {
  const rows = (response as RawResponse).data?.data?.results?.[0]?.rows ?? [];
  return rows.map((row) => ({ timestamp: row.timestamp ?? "", data: row.data ?? {} }));
}
