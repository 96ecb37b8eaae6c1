import type { SpanSample } from "../../src/grouping/collector.ts";
import { StatusCode, type TelemetrySpan } from "../../src/telemetry/span.ts";

/** A decoded span with sensible defaults, for tests of the pure stages. */
export function span(overrides: Partial<TelemetrySpan> = {}): TelemetrySpan {
  return {
    traceId: `${"0".repeat(31)}1`,
    spanId: `${"0".repeat(15)}1`,
    parentSpanId: "",
    name: "POST /invoices",
    kind: 2,
    startTimeMs: Date.parse("2026-11-20T10:00:00Z"),
    endTimeMs: Date.parse("2026-11-20T10:00:01Z"),
    status: { code: StatusCode.Error, message: "" },
    attributes: {},
    resource: { "service.name": "billing-service", "build.commit_sha": "c".repeat(40) },
    scope: "test",
    events: [],
    ...overrides,
  };
}

export function exceptionSpan(
  type: string,
  message: string,
  stacktrace: string,
  overrides: Partial<TelemetrySpan> = {},
) {
  return span({
    events: [
      {
        name: "exception",
        timeMs: Date.parse("2026-11-20T10:00:00Z"),
        attributes: {
          "exception.type": type,
          "exception.message": message,
          "exception.stacktrace": stacktrace,
        },
      },
    ],
    ...overrides,
  });
}

export const PRICING_STACK = [
  "TypeError: Cannot read properties of undefined (reading 'SPRING10')",
  "    at applyDiscount (/srv/billing-service/src/pricing.js:7:62)",
  "    at invoiceTotal (/srv/billing-service/src/pricing.js:14:10)",
  "    at handle (/srv/billing-service/src/handlers.js:9:21)",
  "    at Layer.handle (/srv/billing-service/node_modules/express/lib/router/layer.js:95:5)",
].join("\n");

/** One sample span of a group, as the collector keeps it, for tests of evidence and suspects. */
export function spanSample(stacktrace: string, message = ""): SpanSample {
  return {
    traceId: "t",
    spanId: "s",
    name: "request",
    timeMs: 0,
    exceptionType: "Error",
    message,
    stacktrace,
    attributes: {},
  };
}
