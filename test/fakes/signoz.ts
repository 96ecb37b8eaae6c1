import type { TelemetrySpan } from "../../src/telemetry/span.ts";
import { type FakeReply, type FakeServer, startFakeServer } from "./server.ts";
import { allKeys, flatValue } from "./span-store.ts";

/**
 * A SigNoz query service (POST /api/v5/query_range) over an in-memory span set. It validates
 * requests as SigNoz's querybuildertypesv5 does and evaluates filters, groupBy, order and limit
 * for real, so the same spans give the same groups here as in the file source.
 */
export interface FakeSignoz extends FakeServer {
  spans: TelemetrySpan[];
}

const SPAN_COLUMNS = [
  "trace_id",
  "span_id",
  "parent_span_id",
  "name",
  "timestamp",
  "duration_nano",
  "has_error",
  "status_code",
  "status_code_string",
  "status_message",
  "kind_string",
];
// Keys SigNoz's metadata knows for the seed's services even when the window holds none of them.
const KNOWN_KEYS = [
  "service.name",
  "build.commit_sha",
  "deploy.environment",
  "exception.type",
  "exception.message",
  "exception.stacktrace",
  "exception.slug",
  "error.type",
  "agent.stop_reason",
  "git.repo",
];
const MAX_LIMIT = 10_000;

export async function startFakeSignoz(options: {
  apiKey: string;
  spans: TelemetrySpan[];
}): Promise<FakeSignoz> {
  const spans = options.spans;
  const known = new Set([...KNOWN_KEYS, ...allKeys(spans)]);
  const server = await startFakeServer((request, url) => {
    if (request.headers["signoz-api-key"] !== options.apiKey)
      return error(401, "unauthenticated", "invalid API key");
    if (request.method !== "POST" || url.pathname !== "/api/v5/query_range")
      return error(404, "not_found", "no such route");
    let body: QueryRangeRequest;
    try {
      body = JSON.parse(request.body) as QueryRangeRequest;
    } catch {
      return error(400, "invalid_input", "failed to decode request body");
    }
    try {
      return { status: 200, body: { status: "success", data: run(body, spans, known) } };
    } catch (caught) {
      if (caught instanceof InvalidInput) return error(400, "invalid_input", caught.message);
      throw caught;
    }
  });
  return Object.assign(server, { spans });
}

class InvalidInput extends Error {}

function error(status: number, code: string, message: string): FakeReply {
  return { status, body: { status: "error", error: { code, message, url: "", errors: [{ message }] } } };
}

interface FieldKey {
  name: string;
  fieldContext?: string;
}
interface Spec {
  name?: string;
  signal?: string;
  filter?: { expression?: string };
  aggregations?: Array<{ expression?: string }>;
  groupBy?: FieldKey[];
  selectFields?: FieldKey[];
  order?: Array<{ key?: { name?: string }; direction?: string }>;
  limit?: number;
  offset?: number;
  stepInterval?: number;
}
interface QueryRangeRequest {
  start?: number;
  end?: number;
  requestType?: string;
  compositeQuery?: { queries?: Array<{ type?: string; spec?: Spec }> };
}

function run(body: QueryRangeRequest, spans: TelemetrySpan[], known: Set<string>) {
  const { start, end, requestType } = body;
  if (typeof start !== "number" || typeof end !== "number")
    throw new InvalidInput("start and end are required");
  // Millisecond epochs have 13 digits; seconds or nanoseconds mean the client got the unit wrong.
  if (start < 1e12 || start > 1e14 || end < 1e12 || end > 1e14)
    throw new InvalidInput("start and end must be epoch milliseconds");
  if (start >= end) throw new InvalidInput("start time must be before end time");
  if (!["scalar", "time_series", "raw"].includes(requestType ?? ""))
    throw new InvalidInput(`invalid request type: ${requestType}`);
  const queries = body.compositeQuery?.queries ?? [];
  if (queries.length === 0) throw new InvalidInput("at least one query is required");
  const results = queries.map((query) => {
    if (query.type !== "builder_query") throw new InvalidInput(`unsupported query type ${query.type}`);
    const spec = query.spec ?? {};
    validate(spec, requestType ?? "");
    const matcher = compileFilter(spec.filter?.expression ?? "", known);
    const matching = spans.filter((s) => s.startTimeMs >= start && s.startTimeMs < end && matcher(s));
    if (requestType === "raw") return rawResult(spec, matching);
    for (const a of spec.aggregations ?? []) {
      const key = /^sum\(([\w.]+)\)$/.exec(a.expression ?? "")?.[1];
      if (key && !SPAN_COLUMNS.includes(key) && !known.has(key))
        throw new InvalidInput(`key \`${key}\` not found`);
    }
    const groups = groupSpans(matching, spec.groupBy ?? []);
    return requestType === "scalar" ? scalarResult(spec, groups) : seriesResult(spec, groups);
  });
  return { type: requestType, data: { results }, meta: { rowsScanned: spans.length } };
}

function validate(spec: Spec, requestType: string) {
  if (spec.signal !== "traces") throw new InvalidInput(`invalid signal type: ${spec.signal}`);
  const limit = spec.limit ?? 0;
  if (limit < 0) throw new InvalidInput(`limit must be non-negative, got ${limit}`);
  if (limit > MAX_LIMIT) throw new InvalidInput(`limit exceeds maximum allowed value of ${MAX_LIMIT}`);
  for (const [i, order] of (spec.order ?? []).entries()) {
    if (order.direction !== "asc" && order.direction !== "desc")
      throw new InvalidInput(`invalid direction for order by clause #${i + 1}`);
  }
  if (requestType === "raw") return;
  if (!spec.aggregations?.length) throw new InvalidInput("at least one aggregation is required");
  for (const a of spec.aggregations) {
    if (a.expression !== "count()" && !/^sum\([\w.]+\)$/.test(a.expression ?? ""))
      throw new InvalidInput(`the fake evaluates count() and sum(key) only, not ${a.expression}`);
  }
  for (const [i, gb] of (spec.groupBy ?? []).entries()) {
    if (!gb.name) throw new InvalidInput(`invalid empty key name for group by at index ${i}`);
  }
  const validOrderKeys = new Set(["count()", "0", ...(spec.groupBy ?? []).map((g) => g.name)]);
  for (const order of spec.order ?? []) {
    if (!validOrderKeys.has(order.key?.name ?? ""))
      throw new InvalidInput(`invalid order by key '${order.key?.name}'`);
  }
  if (requestType === "time_series" && !(Number(spec.stepInterval) > 0))
    throw new InvalidInput("stepInterval is required for time_series");
}

function column(span: TelemetrySpan, name: string): string | number | boolean | null {
  switch (name) {
    case "trace_id":
      return span.traceId;
    case "span_id":
      return span.spanId;
    case "parent_span_id":
      return span.parentSpanId;
    case "name":
      return span.name;
    case "timestamp":
      return span.startTimeMs * 1e6;
    case "duration_nano":
      return (span.endTimeMs - span.startTimeMs) * 1e6;
    case "has_error":
      return span.status.code === 2;
    case "status_code":
      return span.status.code;
    case "status_code_string":
      return ["Unset", "Ok", "Error"][span.status.code] ?? "Unset";
    case "status_message":
      return span.status.message;
    case "kind_string":
      return String(span.kind);
    default:
      return flatValue(span, name);
  }
}

type Matcher = (span: TelemetrySpan) => boolean;

/** The subset of SigNoz's filter grammar tracefix uses: = != EXISTS NOT EXISTS AND OR ( ). */
function compileFilter(expression: string, known: Set<string>): Matcher {
  const tokens = expression.match(/'(?:\\.|[^'\\])*'|\(|\)|!=|=|[^\s()=!]+/g) ?? [];
  let i = 0;
  const peek = () => tokens[i]?.toUpperCase();
  const next = () => tokens[i++] ?? "";
  const orExpr = (): Matcher => {
    let left = andExpr();
    while (peek() === "OR") {
      next();
      const a = left;
      const b = andExpr();
      left = (s) => a(s) || b(s);
    }
    return left;
  };
  const andExpr = (): Matcher => {
    let left = factor();
    while (peek() === "AND") {
      next();
      const a = left;
      const b = factor();
      left = (s) => a(s) && b(s);
    }
    return left;
  };
  const factor = (): Matcher => {
    if (peek() === "(") {
      next();
      const inner = orExpr();
      if (next() !== ")") throw new InvalidInput("syntax error: missing )");
      return inner;
    }
    const key = next();
    if (!key) throw new InvalidInput("syntax error: expected a key");
    if (!SPAN_COLUMNS.includes(key) && !known.has(key)) throw new InvalidInput(`key \`${key}\` not found`);
    const op = next().toUpperCase();
    if (op === "EXISTS") return (s) => present(column(s, key));
    if (op === "NOT" && next().toUpperCase() === "EXISTS") return (s) => !present(column(s, key));
    if (op !== "=" && op !== "!=") throw new InvalidInput(`unsupported operator ${op}`);
    const literal = parseLiteral(next());
    const equal = (s: TelemetrySpan) => String(column(s, key) ?? "") === String(literal);
    return op === "=" ? equal : (s) => !equal(s);
  };
  if (tokens.length === 0) return () => true;
  const matcher = orExpr();
  if (i !== tokens.length) throw new InvalidInput(`syntax error near '${tokens[i]}'`);
  return matcher;
}

function parseLiteral(token: string): string | boolean | number {
  if (token.startsWith("'")) return token.slice(1, -1).replace(/\\(.)/g, "$1");
  if (token === "true" || token === "false") return token === "true";
  if (/^-?\d+(\.\d+)?$/.test(token)) return Number(token);
  throw new InvalidInput(`syntax error: bad value ${token}`);
}

function present(value: unknown): boolean {
  return value !== null && value !== undefined && value !== "";
}

interface Group {
  values: string[];
  spans: TelemetrySpan[];
}

function groupSpans(spans: TelemetrySpan[], groupBy: FieldKey[]): Group[] {
  const groups = new Map<string, Group>();
  for (const span of spans) {
    const values = groupBy.map((g) => String(column(span, g.name) ?? ""));
    const id = JSON.stringify(values);
    const group = groups.get(id) ?? { values, spans: [] };
    group.spans.push(span);
    groups.set(id, group);
  }
  return [...groups.values()];
}

function ordered(spec: Spec, groups: Group[]): Group[] {
  const desc = (spec.order?.[0]?.direction ?? "desc") === "desc";
  const sorted = [...groups].sort((a, b) =>
    desc ? b.spans.length - a.spans.length : a.spans.length - b.spans.length,
  );
  return sorted.slice(spec.offset ?? 0, (spec.offset ?? 0) + (spec.limit || MAX_LIMIT));
}

function scalarResult(spec: Spec, groups: Group[]) {
  const groupBy = spec.groupBy ?? [];
  return {
    queryName: spec.name ?? "A",
    columns: [
      ...groupBy.map((g) => ({
        name: g.name,
        signal: "traces",
        fieldContext: g.fieldContext ?? "",
        fieldDataType: "string",
        queryName: "A",
        aggregationIndex: 0,
        meta: {},
        columnType: "group",
      })),
      {
        name: "count()",
        signal: "traces",
        fieldContext: "",
        fieldDataType: "float64",
        queryName: "A",
        aggregationIndex: 0,
        meta: {},
        columnType: "aggregation",
      },
    ],
    data: ordered(spec, groups).map((g) => [...g.values, g.spans.length]),
  };
}

/** count() counts spans; sum(key) adds the numeric values (ClickHouse reads a missing one as 0). */
function aggregate(expression: string, spans: readonly TelemetrySpan[]): number {
  const key = /^sum\(([\w.]+)\)$/.exec(expression)?.[1];
  if (!key) return spans.length;
  return spans.reduce((total, span) => {
    const value = column(span, key);
    return total + (typeof value === "number" && Number.isFinite(value) ? value : 0);
  }, 0);
}

function seriesResult(spec: Spec, groups: Group[]) {
  const stepMs = Number(spec.stepInterval) * 1000;
  const groupBy = spec.groupBy ?? [];
  return {
    queryName: spec.name ?? "A",
    aggregations: (spec.aggregations ?? [{ expression: "count()" }]).map((aggregation, index) => ({
      index,
      alias: "",
      series: ordered(spec, groups).map((g) => {
        const byBucket = new Map<number, TelemetrySpan[]>();
        for (const span of g.spans) {
          const bucket = Math.floor(span.startTimeMs / stepMs) * stepMs;
          byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), span]);
        }
        const buckets = new Map(
          [...byBucket].map(([bucket, spans]) => [bucket, aggregate(aggregation.expression ?? "", spans)]),
        );
        return {
          labels: groupBy.map((key, i) => ({
            key: { name: key.name, fieldContext: key.fieldContext ?? "" },
            value: g.values[i],
          })),
          values: [...buckets.entries()]
            .sort((a, b) => a[0] - b[0])
            .map(([timestamp, value]) => ({ timestamp, value })),
        };
      }),
    })),
  };
}

function rawResult(spec: Spec, spans: TelemetrySpan[]) {
  const sorted = [...spans].sort((a, b) => b.startTimeMs - a.startTimeMs);
  const page = sorted.slice(spec.offset ?? 0, (spec.offset ?? 0) + (spec.limit || 100));
  const fields = spec.selectFields ?? [];
  return {
    queryName: spec.name ?? "A",
    nextCursor: "",
    rows: page.map((span) => ({
      timestamp: new Date(span.startTimeMs).toISOString(),
      data: Object.fromEntries(fields.map((f) => [f.name, column(span, f.name)])),
    })),
  };
}
