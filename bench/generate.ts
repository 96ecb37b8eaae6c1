import { createWriteStream } from "node:fs";
import { seeded } from "../test/fakes/server.ts";

const SERVICES = ["billing-service", "orders", "catalog", "ledger", "gateway"];
const COMMITS = ["a1".repeat(20), "b2".repeat(20), "c3".repeat(20)];
const SPANS_PER_LINE = 50;

/**
 * Writes N spans as OTLP/JSON lines: ~1% errors with a stack trace and exception attributes
 * (20 error shapes with varying ids), the rest plain server spans, over 5 services and 3 commits.
 */
export async function generateSpans(
  path: string,
  count: number,
  seed = 42,
  startMs = Date.parse("2026-11-20T00:00:00Z"),
): Promise<void> {
  const random = seeded(seed);
  const out = createWriteStream(path);
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join("");
  for (let written = 0; written < count; written += SPANS_PER_LINE) {
    const service = SERVICES[Math.floor(random() * SERVICES.length)] ?? "svc";
    const commit = COMMITS[Math.floor(random() * COMMITS.length)] ?? "";
    const spans = [];
    for (let i = 0; i < Math.min(SPANS_PER_LINE, count - written); i++) {
      const t = startMs + Math.floor(random() * 86_400_000);
      const error = random() < 0.01;
      const shape = Math.floor(random() * 20);
      const attributes = [
        { key: "http.route", value: { stringValue: `/api/v1/items/${shape}` } },
        { key: "tenant.id", value: { stringValue: String(Math.floor(random() * 500)) } },
        { key: "http.response.status_code", value: { intValue: error ? "500" : "200" } },
      ];
      const events = error
        ? [
            {
              name: "exception",
              timeUnixNano: `${t}000000`,
              attributes: [
                { key: "exception.type", value: { stringValue: `Error${shape}` } },
                {
                  key: "exception.message",
                  value: { stringValue: `item ${hex(8)} failed for tenant ${Math.floor(random() * 500)}` },
                },
                {
                  key: "exception.stacktrace",
                  value: {
                    stringValue: `Error${shape}: item failed\n    at handler${shape} (/srv/${service}/src/handlers/h${shape}.js:${10 + shape}:5)\n    at route (/srv/${service}/src/router.js:40:3)\n    at Layer.handle (/srv/${service}/node_modules/express/lib/router/layer.js:95:5)`,
                  },
                },
              ],
            },
          ]
        : [];
      spans.push({
        traceId: hex(32),
        spanId: hex(16),
        name: `GET /api/v1/items/${shape}`,
        kind: 2,
        startTimeUnixNano: `${t}000000`,
        endTimeUnixNano: `${t + 12}000000`,
        attributes,
        events,
        status: error ? { code: 2, message: "item failed" } : {},
      });
    }
    const line = JSON.stringify({
      resourceSpans: [
        {
          resource: {
            attributes: [
              { key: "service.name", value: { stringValue: service } },
              { key: "build.commit_sha", value: { stringValue: commit } },
            ],
          },
          scopeSpans: [{ scope: { name: "bench" }, spans }],
        },
      ],
    });
    if (!out.write(`${line}\n`)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}
