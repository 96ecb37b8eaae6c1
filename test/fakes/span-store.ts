import { readFileSync } from "node:fs";
import { decodeExportRequest } from "../../src/telemetry/otlp-json.ts";
import type { AttributeValue, TelemetrySpan } from "../../src/telemetry/span.ts";

/** What a backend has ingested: spans loaded from OTLP/JSON lines, as its collector would receive them. */
export function loadSpans(path: string): TelemetrySpan[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .flatMap((line) => decodeExportRequest(JSON.parse(line)));
}

/** An attribute or resource attribute as a backend would store it: scalars kept, the rest stringified. */
export function flatValue(span: TelemetrySpan, key: string): string | number | boolean | null {
  const value: AttributeValue | undefined = span.attributes[key] ?? span.resource[key];
  if (value === undefined || value === null) return null;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  return JSON.stringify(value);
}

export function allKeys(spans: readonly TelemetrySpan[]): Set<string> {
  const keys = new Set<string>();
  for (const span of spans) {
    for (const key of Object.keys(span.attributes)) keys.add(key);
    for (const key of Object.keys(span.resource)) keys.add(key);
  }
  return keys;
}
