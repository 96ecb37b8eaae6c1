import type { TelemetrySpan } from "./span.ts";

export type SourceName = "file" | "signoz" | "honeycomb";

export interface TimeWindow {
  sinceMs: number;
  untilMs: number;
}

/** A group counted by the backend itself, with a few sample spans of it. */
export interface AggregateRow {
  count: number;
  firstSeenMs: number;
  lastSeenMs: number;
  /** The backend's group-by values; used to describe the group when no sample could be read. */
  keys: Record<string, string>;
  samples: TelemetrySpan[];
  /**
   * The same group counted again per distinct message and stack trace (the cause fields), when
   * the backend could: the sink fingerprints each cause, so counts per fingerprint are exact.
   */
  causes?: CauseCounts[];
}

export interface CauseCounts {
  /** The cause fields' values (exception.message, exception.stacktrace). */
  keys: Record<string, string>;
  count: number;
  firstSeenMs: number;
  lastSeenMs: number;
}

/** Where a source hands its spans; grouping implements it so sources never depend on grouping. */
export interface SpanSink {
  /** A triage candidate inside the window. */
  addSpan(span: TelemetrySpan): void;
  /** A group aggregated server-side (SigNoz, Honeycomb); the samples decide its fingerprint. */
  addAggregate(row: AggregateRow): void;
  /** Any span carrying a commit SHA, in or before the window: feeds the "new commit" boost. */
  noteCommitSeen(commitSha: string, timeMs: number, service?: string): void;
}

export interface SourceProblem {
  line?: number;
  message: string;
}

export interface SourceStats {
  source: SourceName;
  spansRead: number;
  spansMatched: number;
  skippedLines: number;
  problems: SourceProblem[];
  requests: number;
  /** Permalinks to the backend's own view of the queries, when it gives them. */
  queryLinks?: string[];
  /** Where the source read from: the file, or the backend's host (and dataset). */
  location?: string;
  /** Set when the source could not be read at all: what went wrong, and what to check. */
  failed?: { message: string; check: string };
  /** Lines that were JSON but held no spans (logs, metrics, or not OTLP at all). */
  notTraceLines?: number;
  /** Spans read that fell outside the window, and the time range of everything read. */
  spansOutsideWindow?: number;
  timeRange?: { first: string; last: string };
}

/** One numeric attribute aggregated per service, operation, commit, tenant and time bucket. */
export interface MetricQuery {
  /** A numeric span attribute, or "duration" (milliseconds). */
  metric: string;
  /** The unit-of-work attribute summed beside it, or null. */
  per: string | null;
  tenantKey: string;
  sinceMs: number;
  untilMs: number;
  stepMs: number;
}

/**
 * What the backends can return for a metric: count and sums per group and bucket (never the
 * spans). `perSum` is the unit-of-work total; `perCount` how many of the spans carried it.
 */
export interface MetricCell {
  service: string;
  operation: string;
  commitSha: string;
  tenant: string;
  bucketMs: number;
  count: number;
  sum: number;
  perSum: number;
  perCount: number;
  /** work_tracker.issue_id of the deploy, when the spans carry it. */
  issueKey: string;
  /** The operation's own code location (code.filepath / code.function), when spans carry it. */
  codePath: string;
  codeFunction: string;
}

export interface MetricResult {
  cells: MetricCell[];
  /** Spans that carried the metric but not as a number, when the source can tell. */
  notNumeric: number;
  requests: number;
  problems: SourceProblem[];
  /** The backend knows no such attribute (nothing carries the metric or its unit). */
  unknownKey?: boolean;
}

/** Spans of some names counted (and summed) per group of attributes, aggregated by the source. */
export interface CountQuery {
  names: readonly string[];
  groupBy: readonly string[];
  /** Numeric attributes summed beside the count. */
  sums: readonly string[];
  sinceMs: number;
  untilMs: number;
  /** Buckets the source counts in; first/last seen are read from them. */
  stepMs: number;
}

export interface CountRow {
  /** The group-by values, "" when a span did not carry the attribute. */
  keys: Record<string, string>;
  count: number;
  sums: Record<string, number>;
  firstMs: number;
  lastMs: number;
}

export interface CountResult {
  rows: CountRow[];
  requests: number;
  /** The source returned its maximum number of groups: the smallest may be missing. */
  truncated: boolean;
}

export interface TelemetrySource {
  readonly name: SourceName;
  /** The file path or backend host, for messages. */
  readonly location: string;
  /** What a user should check when this source cannot be read at all. */
  readonly checks: string;
  /** Cheap checks that must fail before anything runs (unreadable input, bad credentials). */
  preflight(): Promise<void>;
  collect(window: TimeWindow, sink: SpanSink): Promise<SourceStats>;
  /** Aggregates one metric server-side (or while streaming the file): requests grow with metrics. */
  measure(query: MetricQuery): Promise<MetricResult>;
  /** Counts spans by attributes server-side (or while streaming the file). */
  countBy(query: CountQuery): Promise<CountResult>;
}
