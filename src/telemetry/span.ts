/** A span as tracefix sees it, whichever backend it came from. Times are Unix milliseconds. */
export type AttributeValue =
  | string
  | number
  | boolean
  | Uint8Array
  | null
  | readonly AttributeValue[]
  | { readonly [key: string]: AttributeValue };

export type Attributes = Record<string, AttributeValue>;

export const StatusCode = { Unset: 0, Ok: 1, Error: 2 } as const;
export type StatusCodeValue = (typeof StatusCode)[keyof typeof StatusCode];

export interface SpanEvent {
  name: string;
  timeMs: number;
  attributes: Attributes;
}

export interface TelemetrySpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startTimeMs: number;
  endTimeMs: number;
  status: { code: StatusCodeValue; message: string };
  attributes: Attributes;
  resource: Attributes;
  scope: string;
  events: SpanEvent[];
  /** Deep link to the trace in the backend's UI, when the backend has one. */
  traceUrl?: string;
}

/** Reads a string-valued attribute from the span, then its resource; other types are stringified. */
export function stringAttribute(span: TelemetrySpan, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = span.attributes[key] ?? span.resource[key];
    if (value === undefined || value === null) continue;
    const text = typeof value === "string" ? value : scalarToString(value);
    if (text !== undefined && text.trim() !== "") return text;
  }
  return undefined;
}

function scalarToString(value: AttributeValue): string | undefined {
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}
