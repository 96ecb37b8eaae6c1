import { DURATION_METRIC } from "../detectors/cost-regression/settings.ts";
import { METRIC_GROUP_FIELDS } from "./metric-cells.ts";
import type { CountQuery, CountResult, CountRow, MetricCell, MetricQuery } from "./source.ts";

// SigNoz's largest builder-query limit: series past it are reported, not silently dropped.
export const MAX_METRIC_SERIES = 10_000;

const SPAN_CONTEXT: Record<string, string> = {
  "service.name": "resource",
  "build.commit_sha": "resource",
  "work_tracker.issue_id": "resource",
  name: "span",
};

/** One grouped builder query of a time-series request (SigNoz v5). */
function seriesQuery(
  name: string,
  filter: string,
  aggregations: readonly string[],
  groupBy: readonly string[],
  stepMs: number,
) {
  return {
    type: "builder_query",
    spec: {
      name,
      signal: "traces",
      disabled: false,
      stepInterval: Math.max(60, Math.round(stepMs / 1000)),
      filter: { expression: filter },
      aggregations: aggregations.map((expression) => ({ expression })),
      groupBy: groupBy.map((key) => ({
        name: key,
        fieldDataType: "string",
        signal: "traces",
        fieldContext: SPAN_CONTEXT[key] ?? "attribute",
      })),
      order: [{ key: { name: "count()" }, direction: "desc" }],
      limit: MAX_METRIC_SERIES,
      having: { expression: "" },
    },
  };
}

function seriesEnvelope(sinceMs: number, untilMs: number, queries: unknown[]) {
  return {
    schemaVersion: "v1",
    start: Math.floor(sinceMs),
    end: Math.ceil(untilMs),
    requestType: "time_series",
    compositeQuery: { queries },
    formatOptions: { formatTableResultForUI: false, fillGaps: false },
    variables: {},
  };
}

interface Part {
  /** Which cell fields the aggregations fill, in order. */
  fills: Array<"count" | "sum" | "perSum">;
  /** The spans this part counts carry the unit of work. */
  withPer: boolean;
}

/**
 * One time-series request for one metric: query A aggregates spans that carry the unit of work
 * (count, sum of the metric, sum of the units), query B the spans that do not. Both are grouped
 * by service, operation, commit, issue, code location and tenant, so the answer grows with
 * operations and tenants, never with spans.
 */
export function metricRequest(query: MetricQuery): { body: unknown; parts: Part[] } {
  const metric = query.metric === DURATION_METRIC ? "duration_nano" : query.metric;
  const has = query.metric === DURATION_METRIC ? [] : [`${metric} EXISTS`];
  const groupBy = [...METRIC_GROUP_FIELDS, query.tenantKey];
  const spec = (name: string, filter: string[], aggregations: string[]) =>
    seriesQuery(name, filter.join(" AND "), aggregations, groupBy, query.stepMs);
  const queries = query.per
    ? [
        spec("A", [...has, `${query.per} EXISTS`], ["count()", `sum(${metric})`, `sum(${query.per})`]),
        spec("B", [...has, `${query.per} NOT EXISTS`], ["count()", `sum(${metric})`]),
      ]
    : [spec("A", has, ["count()", `sum(${metric})`])];
  const parts: Part[] = query.per
    ? [
        { fills: ["count", "sum", "perSum"], withPer: true },
        { fills: ["count", "sum"], withPer: false },
      ]
    : [{ fills: ["count", "sum"], withPer: false }];
  return {
    body: seriesEnvelope(query.sinceMs, query.untilMs, queries),
    parts,
  };
}

interface Series {
  labels?: Array<{ key?: { name?: string }; value?: unknown }>;
  values?: Array<{ timestamp?: number; value?: unknown }>;
}
interface MetricResponse {
  data?: {
    data?: {
      results?: Array<{ queryName?: string; aggregations?: Array<{ index?: number; series?: Series[] }> }>;
    };
  };
}

/** Reads the series back into cells: one per label set and bucket, aggregations side by side. */
export function parseMetricResponse(
  response: unknown,
  query: MetricQuery,
  parts: Part[],
): { cells: MetricCell[]; truncated: boolean } {
  const results = (response as MetricResponse).data?.data?.results ?? [];
  const scale = query.metric === DURATION_METRIC ? 1e-6 : 1;
  const cells = new Map<string, MetricCell>();
  let truncated = false;
  results.forEach((result, queryIndex) => {
    const part = parts[queryIndex];
    if (!part) return;
    for (const [aggIndex, aggregation] of (result.aggregations ?? []).entries()) {
      const field = part.fills[aggregation.index ?? aggIndex];
      const series = aggregation.series ?? [];
      if (series.length >= MAX_METRIC_SERIES) truncated = true;
      for (const s of series) {
        const labels: Record<string, string> = {};
        for (const label of s.labels ?? []) {
          if (label.key?.name) labels[label.key.name] = label.value == null ? "" : String(label.value);
        }
        for (const point of s.values ?? []) {
          const value = toNumber(point.value);
          const bucketMs = Number(point.timestamp);
          if (!field || !Number.isFinite(bucketMs)) continue;
          const key = `${part.withPer}\n${JSON.stringify(labels)}\n${bucketMs}`;
          const cell = cells.get(key) ?? emptyCell(labels, query.tenantKey, bucketMs);
          if (field === "count") {
            cell.count += Math.round(value);
            if (part.withPer) cell.perCount += Math.round(value);
          } else if (field === "sum") cell.sum += value * scale;
          else cell.perSum += value;
          cells.set(key, cell);
        }
      }
    }
  });
  return { cells: [...cells.values()].filter((c) => c.count > 0), truncated };
}

function emptyCell(labels: Record<string, string>, tenantKey: string, bucketMs: number): MetricCell {
  return {
    service: labels["service.name"] ?? "",
    operation: labels.name ?? "",
    commitSha: labels["build.commit_sha"] ?? "",
    tenant: labels[tenantKey] ?? "",
    bucketMs,
    count: 0,
    sum: 0,
    perSum: 0,
    perCount: 0,
    issueKey: labels["work_tracker.issue_id"] ?? "",
    codePath: labels["code.filepath"] ?? "",
    codeFunction: labels["code.function"] ?? "",
  };
}

/** Aggregates arrive as numbers or strings, "NaN"/"Inf" included: those count as nothing. */
function toNumber(value: unknown): number {
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : 0;
}

/**
 * A CountQuery as one time-series request: count() and sum() of each summed attribute per group,
 * per bucket (the buckets give first and last seen). Names and values go into the filter quoted.
 */
export function countRequest(query: CountQuery): unknown {
  const names = query.names.map((n) => `name = '${n.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`);
  const filter = names.length > 1 ? `(${names.join(" OR ")})` : (names[0] ?? "");
  const aggregations = ["count()", ...query.sums.map((s) => `sum(${s})`)];
  return seriesEnvelope(query.sinceMs, query.untilMs, [
    seriesQuery("A", filter, aggregations, query.groupBy, query.stepMs),
  ]);
}

export function parseCountResponse(response: unknown, query: CountQuery): CountResult {
  const result = (response as MetricResponse).data?.data?.results?.[0];
  const rows = new Map<string, CountRow>();
  let truncated = false;
  for (const [aggIndex, aggregation] of (result?.aggregations ?? []).entries()) {
    const index = aggregation.index ?? aggIndex;
    const sumKey = index === 0 ? null : query.sums[index - 1];
    if (index > 0 && !sumKey) continue;
    const series = aggregation.series ?? [];
    if (series.length >= MAX_METRIC_SERIES) truncated = true;
    for (const s of series) {
      const keys = Object.fromEntries(query.groupBy.map((k) => [k, ""]));
      for (const label of s.labels ?? []) {
        if (label.key?.name && label.key.name in keys)
          keys[label.key.name] = label.value == null ? "" : String(label.value);
      }
      const id = JSON.stringify(keys);
      for (const point of s.values ?? []) {
        const value = toNumber(point.value);
        const bucket = Number(point.timestamp);
        if (!Number.isFinite(bucket)) continue;
        const row = rows.get(id) ?? {
          keys,
          count: 0,
          sums: Object.fromEntries(query.sums.map((k) => [k, 0])),
          firstMs: bucket,
          lastMs: bucket,
        };
        if (sumKey) row.sums[sumKey] = (row.sums[sumKey] ?? 0) + value;
        else {
          row.count += Math.round(value);
          if (value > 0) {
            row.firstMs = Math.min(row.firstMs, bucket);
            row.lastMs = Math.max(row.lastMs, bucket);
          }
        }
        rows.set(id, row);
      }
    }
  }
  return { rows: [...rows.values()].filter((r) => r.count > 0), requests: 1, truncated };
}
