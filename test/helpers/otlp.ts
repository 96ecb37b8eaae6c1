/** Builds OTLP/JSON export requests the way the Collector's file exporter writes them. */
export interface SpanSpec {
  name?: string;
  traceId?: string;
  spanId?: string;
  startMs: number;
  status?: { code: number | string; message?: string };
  attributes?: Record<string, unknown>;
  events?: Array<{ name: string; timeMs: number; attributes?: Record<string, unknown> }>;
}

let counter = 0;

export function hexId(bytes: number): string {
  counter += 1;
  return counter.toString(16).padStart(bytes * 2, "0");
}

export function anyValue(value: unknown): Record<string, unknown> {
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  if (typeof value === "number")
    return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValue) } };
  if (value && typeof value === "object") {
    return {
      kvlistValue: { values: Object.entries(value).map(([key, v]) => ({ key, value: anyValue(v) })) },
    };
  }
  return {};
}

export function attributes(record: Record<string, unknown> = {}) {
  return Object.entries(record).map(([key, value]) => ({ key, value: anyValue(value) }));
}

export function otlpSpan(spec: SpanSpec) {
  return {
    traceId: spec.traceId ?? hexId(16),
    spanId: spec.spanId ?? hexId(8),
    name: spec.name ?? "POST /checkout",
    kind: 2,
    startTimeUnixNano: `${BigInt(spec.startMs) * 1_000_000n}`,
    endTimeUnixNano: `${BigInt(spec.startMs + 5) * 1_000_000n}`,
    attributes: attributes(spec.attributes),
    events: (spec.events ?? []).map((e) => ({
      name: e.name,
      timeUnixNano: `${BigInt(e.timeMs) * 1_000_000n}`,
      attributes: attributes(e.attributes),
    })),
    ...(spec.status ? { status: spec.status } : {}),
  };
}

export function exportRequest(resource: Record<string, unknown>, spans: SpanSpec[]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: attributes(resource) },
        scopeSpans: [{ scope: { name: "test" }, spans: spans.map(otlpSpan) }],
      },
    ],
  };
}

export function jsonLines(...requests: unknown[]): string {
  return `${requests.map((r) => JSON.stringify(r)).join("\n")}\n`;
}

/** An error span as an OTel SDK records it: status ERROR plus an `exception` event. */
export function errorSpan(
  startMs: number,
  type: string,
  message: string,
  stack: string,
  extra: Partial<SpanSpec> = {},
): SpanSpec {
  return {
    startMs,
    status: { code: 2, message },
    events: [
      {
        name: "exception",
        timeMs: startMs,
        attributes: { "exception.type": type, "exception.message": message, "exception.stacktrace": stack },
      },
    ],
    ...extra,
  };
}
