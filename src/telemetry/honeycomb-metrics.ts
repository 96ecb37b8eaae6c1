import { DURATION_METRIC } from "../detectors/cost-regression/settings.ts";
import { METRIC_GROUP_FIELDS } from "./metric-cells.ts";
import type { CountQuery, CountResult, MetricCell, MetricQuery, MetricResult } from "./source.ts";

/** The Honeycomb adapter's query runner: create the spec, run it, poll until complete. */
export type RunQuery = (spec: Record<string, unknown>) => Promise<{
  rows: Array<Record<string, unknown>>;
  series: Array<{ time: string; data: Record<string, unknown> }>;
}>;

export type Filter = { column: string; op: string; value?: unknown };

// Honeycomb's result rows with the time series on.
export const MAX_SERIES_ROWS = 1_000;
// Honeycomb answers 400 for ranges that start more than 7 days ago; a minute's margin for the clock.
const HONEYCOMB_RETENTION_MS = 7 * 86_400_000 - 60_000;

/** A spec's absolute time range, in the Unix seconds Honeycomb takes. */
export function timeRange(sinceMs: number, untilMs: number) {
  return { start_time: Math.floor(sinceMs / 1000), end_time: Math.ceil(untilMs / 1000) };
}

/** Counts (and sums) per breakdown: exact figures from the results, first/last from the series. */
export async function countOnHoneycomb(
  run: RunQuery,
  requests: () => number,
  query: CountQuery,
): Promise<CountResult> {
  const before = requests();
  const oldest = Date.now() - HONEYCOMB_RETENTION_MS;
  if (query.untilMs <= oldest) return { rows: [], requests: 0, truncated: false };
  const result = await run({
    calculations: [{ op: "COUNT" }, ...query.sums.map((column) => ({ op: "SUM", column }))],
    breakdowns: [...query.groupBy],
    filters: [{ column: "name", op: "in", value: [...query.names] }],
    filter_combination: "AND",
    ...timeRange(Math.max(query.sinceMs, oldest), query.untilMs),
    granularity: Math.max(60, Math.round(query.stepMs / 1000)),
    orders: [{ op: "COUNT", order: "descending" }],
    limit: MAX_SERIES_ROWS,
  });
  const label = (data: Record<string, unknown>, key: string) => {
    const value = data[key];
    return value === null || value === undefined ? "" : String(value);
  };
  const keysOfRow = (data: Record<string, unknown>) =>
    Object.fromEntries(query.groupBy.map((k) => [k, label(data, k)]));
  const seen = new Map<string, { first: number; last: number }>();
  for (const point of result.series) {
    const at = Date.parse(point.time);
    if (Number.isNaN(at) || !(Number(point.data.COUNT) > 0)) continue;
    const id = JSON.stringify(keysOfRow(point.data));
    const times = seen.get(id);
    seen.set(id, { first: Math.min(times?.first ?? at, at), last: Math.max(times?.last ?? at, at) });
  }
  const rows = result.rows
    .map((data) => {
      const keys = keysOfRow(data);
      const times = seen.get(JSON.stringify(keys));
      return {
        keys,
        count: Math.round(Number(data.COUNT) || 0),
        sums: Object.fromEntries(query.sums.map((k) => [k, Number(data[`SUM(${k})`]) || 0])),
        firstMs: times?.first ?? query.sinceMs,
        lastMs: times?.last ?? query.untilMs - 1,
      };
    })
    .filter((r) => r.count > 0);
  return {
    rows,
    requests: requests() - before,
    truncated: result.rows.length >= MAX_SERIES_ROWS,
  };
}

/**
 * One metric per query run (two when a unit of work is set: spans with it and spans without),
 * broken down by service, operation, commit, issue, code location and tenant, bucketed by the
 * series. Honeycomb queries only the last 7 days, so a longer lookback is cut and said so.
 */
export async function measureOnHoneycomb(
  run: RunQuery,
  requests: () => number,
  query: MetricQuery,
): Promise<MetricResult> {
  const before = requests();
  const problems: MetricResult["problems"] = [];
  const oldest = Date.now() - HONEYCOMB_RETENTION_MS;
  let sinceMs = query.sinceMs;
  if (query.untilMs <= oldest + query.stepMs) {
    return {
      cells: [],
      notNumeric: 0,
      requests: 0,
      problems: [
        {
          message: `${query.metric}: the window is older than Honeycomb's 7 queryable days; nothing compared`,
        },
      ],
    };
  }
  if (sinceMs < oldest) {
    sinceMs = Math.ceil(oldest / query.stepMs) * query.stepMs;
    problems.push({
      message: `${query.metric}: lookback cut to Honeycomb's 7 queryable days (from ${new Date(sinceMs).toISOString()})`,
    });
  }
  const column = query.metric === DURATION_METRIC ? "duration_ms" : query.metric;
  const breakdowns = [...METRIC_GROUP_FIELDS, query.tenantKey];
  const has: Filter[] = query.metric === DURATION_METRIC ? [] : [{ column, op: "exists" }];
  const parts = query.per
    ? [
        { withPer: true, filters: [...has, { column: query.per, op: "exists" }] },
        { withPer: false, filters: [...has, { column: query.per, op: "does-not-exist" }] },
      ]
    : [{ withPer: false, filters: has }];
  const cells: MetricCell[] = [];
  for (const part of parts) {
    const result = await run({
      calculations: [
        { op: "COUNT" },
        { op: "SUM", column },
        ...(part.withPer && query.per ? [{ op: "SUM", column: query.per }] : []),
      ],
      breakdowns,
      filters: part.filters,
      filter_combination: "AND",
      ...timeRange(sinceMs, query.untilMs),
      granularity: Math.max(60, Math.round(query.stepMs / 1000)),
      orders: [{ op: "COUNT", order: "descending" }],
      limit: MAX_SERIES_ROWS,
    });
    if (result.rows.length >= MAX_SERIES_ROWS)
      problems.push({
        message: `${query.metric}: more than ${MAX_SERIES_ROWS} groups; the smallest were not fetched`,
      });
    for (const point of result.series) {
      const at = Date.parse(point.time);
      const count = Math.round(Number(point.data.COUNT) || 0);
      if (Number.isNaN(at) || count <= 0) continue;
      const label = (name: string) => {
        const value = point.data[name];
        return value === null || value === undefined ? "" : String(value);
      };
      const perSum = part.withPer && query.per ? Number(point.data[`SUM(${query.per})`]) || 0 : 0;
      cells.push({
        service: label("service.name"),
        operation: label("name"),
        commitSha: label("build.commit_sha"),
        tenant: label(query.tenantKey),
        bucketMs: at,
        count,
        sum: Number(point.data[`SUM(${column})`]) || 0,
        perSum,
        perCount: part.withPer ? count : 0,
        issueKey: label("work_tracker.issue_id"),
        codePath: label("code.filepath"),
        codeFunction: label("code.function"),
      });
    }
  }
  return { cells, notNumeric: 0, requests: requests() - before, problems };
}
