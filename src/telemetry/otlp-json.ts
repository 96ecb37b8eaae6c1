import {
  type Attributes,
  type AttributeValue,
  type SpanEvent,
  StatusCode,
  type TelemetrySpan,
} from "./span.ts";

/**
 * Decodes one OTLP/JSON ExportTraceServiceRequest (the Collector `file` exporter writes one per line).
 * Lenient on purpose: producers disagree on enum names vs ints, hex vs base64 ids and string vs
 * numeric int64s, and unknown fields must be ignored. Only a value that is not a JSON object at
 * all is rejected, so one odd producer never costs us a whole line.
 */
export function decodeExportRequest(payload: unknown): TelemetrySpan[] {
  if (!isRecord(payload)) throw new Error("line is not a JSON object");
  const resourceSpans = payload.resourceSpans;
  if (resourceSpans === undefined) return [];
  if (!Array.isArray(resourceSpans)) throw new Error("resourceSpans is not an array");
  const spans: TelemetrySpan[] = [];
  for (const rs of resourceSpans) {
    if (!isRecord(rs)) continue;
    const resource = decodeAttributes(isRecord(rs.resource) ? rs.resource.attributes : undefined);
    for (const ss of asArray(rs.scopeSpans ?? rs.instrumentationLibrarySpans)) {
      if (!isRecord(ss)) continue;
      const scopeRecord = ss.scope ?? ss.instrumentationLibrary;
      const scope = isRecord(scopeRecord) && typeof scopeRecord.name === "string" ? scopeRecord.name : "";
      for (const raw of asArray(ss.spans)) {
        if (isRecord(raw)) spans.push(decodeSpan(raw, resource, scope));
      }
    }
  }
  return spans;
}

function decodeSpan(raw: Record<string, unknown>, resource: Attributes, scope: string): TelemetrySpan {
  const status = isRecord(raw.status) ? raw.status : {};
  return {
    traceId: decodeId(raw.traceId),
    spanId: decodeId(raw.spanId),
    parentSpanId: decodeId(raw.parentSpanId),
    name: typeof raw.name === "string" ? raw.name : "",
    kind: decodeEnum(raw.kind, SPAN_KIND_NAMES),
    startTimeMs: nanosToMillis(raw.startTimeUnixNano),
    endTimeMs: nanosToMillis(raw.endTimeUnixNano),
    status: {
      code: decodeStatusCode(status.code),
      message: typeof status.message === "string" ? status.message : "",
    },
    attributes: decodeAttributes(raw.attributes),
    resource,
    scope,
    events: asArray(raw.events).filter(isRecord).map(decodeEvent),
  };
}

function decodeEvent(raw: Record<string, unknown>): SpanEvent {
  return {
    name: typeof raw.name === "string" ? raw.name : "",
    timeMs: nanosToMillis(raw.timeUnixNano),
    attributes: decodeAttributes(raw.attributes),
  };
}

export function decodeAttributes(raw: unknown): Attributes {
  const attributes: Attributes = {};
  for (const kv of asArray(raw)) {
    if (isRecord(kv) && typeof kv.key === "string") attributes[kv.key] = decodeAnyValue(kv.value);
  }
  return attributes;
}

// Real payloads never nest this deep; the cap keeps hostile input from exhausting the stack.
const MAX_VALUE_DEPTH = 32;

export function decodeAnyValue(raw: unknown, depth = 0): AttributeValue {
  if (depth > MAX_VALUE_DEPTH) return "[nested too deep]";
  if (!isRecord(raw)) return null;
  if ("stringValue" in raw)
    return typeof raw.stringValue === "string" ? raw.stringValue : String(raw.stringValue);
  if ("boolValue" in raw) return raw.boolValue === true || raw.boolValue === "true";
  if ("intValue" in raw) return decodeInt(raw.intValue);
  if ("doubleValue" in raw) return decodeDouble(raw.doubleValue);
  if ("bytesValue" in raw)
    return typeof raw.bytesValue === "string" ? Buffer.from(raw.bytesValue, "base64") : null;
  if ("arrayValue" in raw) {
    const values = isRecord(raw.arrayValue) ? asArray(raw.arrayValue.values) : [];
    return values.map((v) => decodeAnyValue(v, depth + 1));
  }
  if ("kvlistValue" in raw) {
    const entries = isRecord(raw.kvlistValue) ? asArray(raw.kvlistValue.values) : [];
    const out: Record<string, AttributeValue> = {};
    for (const kv of entries) {
      if (isRecord(kv) && typeof kv.key === "string") out[kv.key] = decodeAnyValue(kv.value, depth + 1);
    }
    return out;
  }
  return null;
}

/** int64 arrives as a decimal string per the spec (numbers from some producers); beyond 2^53 we keep the digits. */
function decodeInt(raw: unknown): number | string | null {
  if (typeof raw === "number") return Number.isFinite(raw) ? Math.trunc(raw) : null;
  if (typeof raw !== "string" || !/^-?\d+$/.test(raw.trim())) return null;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : raw.trim();
}

function decodeDouble(raw: unknown): number | null {
  if (typeof raw === "number") return raw;
  if (raw === "NaN") return Number.NaN;
  if (raw === "Infinity" || raw === "Inf") return Number.POSITIVE_INFINITY;
  if (raw === "-Infinity" || raw === "-Inf") return Number.NEGATIVE_INFINITY;
  if (typeof raw === "string" && raw.trim() !== "" && Number.isFinite(Number(raw))) return Number(raw);
  return null;
}

const SPAN_KIND_NAMES = [
  "SPAN_KIND_UNSPECIFIED",
  "SPAN_KIND_INTERNAL",
  "SPAN_KIND_SERVER",
  "SPAN_KIND_CLIENT",
  "SPAN_KIND_PRODUCER",
  "SPAN_KIND_CONSUMER",
];
const STATUS_CODE_NAMES = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

function decodeEnum(raw: unknown, names: readonly string[]): number {
  if (typeof raw === "number" && Number.isInteger(raw) && raw >= 0 && raw < names.length) return raw;
  if (typeof raw === "string") {
    const index = names.indexOf(raw.toUpperCase());
    if (index >= 0) return index;
    if (/^\d+$/.test(raw)) return decodeEnum(Number(raw), names);
  }
  return 0;
}

function decodeStatusCode(raw: unknown) {
  const code = decodeEnum(raw, STATUS_CODE_NAMES);
  return code === 2 ? StatusCode.Error : code === 1 ? StatusCode.Ok : StatusCode.Unset;
}

/** Hex per the OTLP/JSON spec; some producers write the protobuf JSON default (base64). */
function decodeId(raw: unknown): string {
  if (typeof raw !== "string" || raw === "") return "";
  if (/^[0-9a-f]+$/i.test(raw) && (raw.length === 32 || raw.length === 16)) return raw.toLowerCase();
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(raw)) {
    const bytes = Buffer.from(raw, "base64");
    if (bytes.length === 16 || bytes.length === 8) return bytes.toString("hex");
  }
  return raw.toLowerCase();
}

function nanosToMillis(raw: unknown): number {
  if (typeof raw === "number") return raw / 1e6;
  if (typeof raw === "string" && /^\d+$/.test(raw)) {
    // Split to keep sub-millisecond digits out of the float: 19-digit nanos exceed 2^53.
    const millis = raw.length > 6 ? Number(raw.slice(0, -6)) : 0;
    const rest = raw.length > 6 ? raw.slice(-6) : raw;
    return millis + Number(rest) / 1e6;
  }
  return 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
