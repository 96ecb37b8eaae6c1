import { DURATION_METRIC } from "../detectors/cost-regression/settings.ts";
import { commitShaOf, issueKeyOf, serviceNameOf } from "./conventions.ts";
import type { CountQuery, CountRow, MetricCell, MetricQuery } from "./source.ts";
import { stringAttribute, type TelemetrySpan } from "./span.ts";

/** The group-by fields of a metric query, in order; the tenant key is the query's own. */
export const METRIC_GROUP_FIELDS = [
  "service.name",
  "name",
  "build.commit_sha",
  "work_tracker.issue_id",
  "code.filepath",
  "code.function",
] as const;

export type MetricValue = { kind: "number"; value: number } | { kind: "absent" } | { kind: "not_numeric" };

/** A span's value of a metric: "duration" is the span's own duration in milliseconds. */
export function metricValueOf(span: TelemetrySpan, metric: string): MetricValue {
  if (metric === DURATION_METRIC)
    return { kind: "number", value: Math.max(0, span.endTimeMs - span.startTimeMs) };
  const raw = span.attributes[metric] ?? span.resource[metric];
  if (raw === undefined || raw === null) return { kind: "absent" };
  return typeof raw === "number" && Number.isFinite(raw)
    ? { kind: "number", value: raw }
    : { kind: "not_numeric" };
}

/**
 * Folds spans into the cells a backend would return for the query (the file source computes
 * locally what SigNoz and Honeycomb compute server-side). Memory follows the number of cells.
 */
export class MetricCellFolder {
  private readonly cells = new Map<string, MetricCell>();
  notNumeric = 0;
  private readonly query: MetricQuery;

  constructor(query: MetricQuery) {
    this.query = query;
  }

  add(span: TelemetrySpan): void {
    const { query } = this;
    if (span.startTimeMs < query.sinceMs || span.startTimeMs >= query.untilMs) return;
    const value = metricValueOf(span, query.metric);
    if (value.kind === "absent") return;
    if (value.kind === "not_numeric") {
      this.notNumeric += 1;
      return;
    }
    const per = query.per ? metricValueOf(span, query.per) : ({ kind: "absent" } as const);
    const bucketMs = Math.floor(span.startTimeMs / query.stepMs) * query.stepMs;
    const cell: MetricCell = {
      service: serviceNameOf(span),
      operation: span.name,
      commitSha: commitShaOf(span) ?? "",
      tenant: stringAttribute(span, query.tenantKey) ?? "",
      bucketMs,
      count: 0,
      sum: 0,
      perSum: 0,
      perCount: 0,
      issueKey: issueKeyOf(span) ?? "",
      codePath: stringAttribute(span, "code.filepath", "code.file.path") ?? "",
      codeFunction: stringAttribute(span, "code.function", "code.function.name") ?? "",
    };
    const key = [
      cell.service,
      cell.operation,
      cell.commitSha,
      cell.tenant,
      bucketMs,
      cell.issueKey,
      cell.codePath,
      cell.codeFunction,
    ].join("\n");
    const existing = this.cells.get(key) ?? cell;
    existing.count += 1;
    existing.sum += value.value;
    if (per.kind === "number") {
      existing.perCount += 1;
      existing.perSum += per.value;
    }
    this.cells.set(key, existing);
  }

  result(): MetricCell[] {
    return [...this.cells.values()];
  }
}

/** A span attribute as a backend would group by it: scalars as text, missing as "". */
export function groupValueOf(span: TelemetrySpan, key: string): string {
  if (key === "name") return span.name;
  const value = span.attributes[key] ?? span.resource[key];
  if (value === undefined || value === null) return "";
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : "";
}

/** Folds spans into the rows a backend returns for a CountQuery (the file source's countBy). */
export class CountFolder {
  private readonly rows = new Map<string, CountRow>();
  private readonly query: CountQuery;
  private readonly names: Set<string>;

  constructor(query: CountQuery) {
    this.query = query;
    this.names = new Set(query.names);
  }

  add(span: TelemetrySpan): void {
    const { query } = this;
    if (!this.names.has(span.name) || span.startTimeMs < query.sinceMs || span.startTimeMs >= query.untilMs)
      return;
    const keys = Object.fromEntries(query.groupBy.map((k) => [k, groupValueOf(span, k)]));
    const id = JSON.stringify(keys);
    const bucket = Math.floor(span.startTimeMs / query.stepMs) * query.stepMs;
    const row = this.rows.get(id) ?? {
      keys,
      count: 0,
      sums: Object.fromEntries(query.sums.map((k) => [k, 0])),
      firstMs: bucket,
      lastMs: bucket,
    };
    row.count += 1;
    for (const key of query.sums) {
      const value = metricValueOf(span, key);
      if (value.kind === "number") row.sums[key] = (row.sums[key] ?? 0) + value.value;
    }
    row.firstMs = Math.min(row.firstMs, bucket);
    row.lastMs = Math.max(row.lastMs, bucket);
    this.rows.set(id, row);
  }

  result(): CountRow[] {
    return [...this.rows.values()];
  }
}
