import { describe, expect, it } from "vitest";
import { decodeAnyValue, decodeExportRequest } from "../../src/telemetry/otlp-json.ts";

describe("decodeAnyValue", () => {
  it("decodes every OTLP AnyValue type", () => {
    expect(decodeAnyValue({ stringValue: "hello" })).toBe("hello");
    expect(decodeAnyValue({ boolValue: true })).toBe(true);
    expect(decodeAnyValue({ boolValue: false })).toBe(false);
    expect(decodeAnyValue({ intValue: "42" })).toBe(42);
    expect(decodeAnyValue({ intValue: 7 })).toBe(7);
    expect(decodeAnyValue({ intValue: "-12" })).toBe(-12);
    expect(decodeAnyValue({ doubleValue: 0.25 })).toBe(0.25);
    expect(decodeAnyValue({ bytesValue: Buffer.from([1, 2, 255]).toString("base64") })).toEqual(
      Buffer.from([1, 2, 255]),
    );
    expect(decodeAnyValue({ arrayValue: { values: [{ stringValue: "a" }, { intValue: "1" }] } })).toEqual([
      "a",
      1,
    ]);
    expect(
      decodeAnyValue({
        kvlistValue: {
          values: [
            { key: "k", value: { boolValue: true } },
            { key: "n", value: { arrayValue: {} } },
          ],
        },
      }),
    ).toEqual({ k: true, n: [] });
    expect(decodeAnyValue({})).toBeNull();
  });

  it("keeps int64 values beyond 2^53 as their exact digits", () => {
    expect(decodeAnyValue({ intValue: "9223372036854775807" })).toBe("9223372036854775807");
  });

  it("reads the protobuf-JSON spellings of non-finite doubles", () => {
    expect(decodeAnyValue({ doubleValue: "NaN" })).toBeNaN();
    expect(decodeAnyValue({ doubleValue: "Infinity" })).toBe(Number.POSITIVE_INFINITY);
    expect(decodeAnyValue({ doubleValue: "-Infinity" })).toBe(Number.NEGATIVE_INFINITY);
  });

  it("stops at a bounded depth instead of recursing without end", () => {
    let value: Record<string, unknown> = { stringValue: "leaf" };
    for (let i = 0; i < 200; i++) value = { arrayValue: { values: [value] } };
    let decoded = decodeAnyValue(value);
    let depth = 0;
    while (Array.isArray(decoded)) {
      decoded = decoded[0] ?? null;
      depth++;
    }
    expect(decoded).toBe("[nested too deep]");
    expect(depth).toBeLessThan(40);
  });
});

describe("decodeExportRequest", () => {
  const request = (span: Record<string, unknown>, resource: unknown[] = []) => ({
    resourceSpans: [
      { resource: { attributes: resource }, scopeSpans: [{ scope: { name: "s" }, spans: [span] }] },
    ],
  });

  it("reads resource and span attributes, status, kind, times and exception events", () => {
    const [span] = decodeExportRequest(
      request(
        {
          traceId: "5b8efff798038103d269b633813fc60c",
          spanId: "eee19b7ec3c1b174",
          parentSpanId: "eee19b7ec3c1b173",
          name: "GET /x",
          kind: 2,
          startTimeUnixNano: "1795046768379123456",
          endTimeUnixNano: "1795046768400000000",
          attributes: [{ key: "http.route", value: { stringValue: "/x" } }],
          status: { code: 2, message: "boom" },
          events: [{ name: "exception", timeUnixNano: "1795046768390000000", attributes: [] }],
          somethingNew: { ignored: true },
        },
        [{ key: "service.name", value: { stringValue: "api" } }],
      ),
    );
    expect(span).toMatchObject({
      traceId: "5b8efff798038103d269b633813fc60c",
      spanId: "eee19b7ec3c1b174",
      parentSpanId: "eee19b7ec3c1b173",
      name: "GET /x",
      kind: 2,
      status: { code: 2, message: "boom" },
      attributes: { "http.route": "/x" },
      resource: { "service.name": "api" },
      scope: "s",
    });
    expect(span?.startTimeMs).toBeCloseTo(1795046768379.1235, 3);
    expect(span?.events[0]?.name).toBe("exception");
  });

  it("accepts enum names and base64 ids from lenient producers", () => {
    const [span] = decodeExportRequest(
      request({
        traceId: Buffer.from("5b8efff798038103d269b633813fc60c", "hex").toString("base64"),
        spanId: Buffer.from("eee19b7ec3c1b174", "hex").toString("base64"),
        kind: "SPAN_KIND_CLIENT",
        status: { code: "STATUS_CODE_ERROR" },
      }),
    );
    expect(span?.traceId).toBe("5b8efff798038103d269b633813fc60c");
    expect(span?.spanId).toBe("eee19b7ec3c1b174");
    expect(span?.kind).toBe(3);
    expect(span?.status.code).toBe(2);
  });

  it("treats a missing status and kind as 0, the protobuf default", () => {
    const [span] = decodeExportRequest(request({ name: "x" }));
    expect(span?.status.code).toBe(0);
    expect(span?.kind).toBe(0);
  });

  it("rejects a line that is not an export request object", () => {
    expect(() => decodeExportRequest([1, 2])).toThrow(/not a JSON object/);
    expect(() => decodeExportRequest({ resourceSpans: "nope" })).toThrow(/not an array/);
    expect(decodeExportRequest({})).toEqual([]);
  });
});
