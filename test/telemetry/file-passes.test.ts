import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OtlpFileSource } from "../../src/telemetry/otlp-file.ts";
import { sessionSpans } from "../helpers/agent-spans.ts";
import { costSpans, toJsonLines } from "../helpers/cost-spans.ts";

const HOUR = 3_600_000;
const SINCE = Date.parse("2026-11-20T00:00:00Z");
const dir = mkdtempSync(join(tmpdir(), "tracefix-passes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the file source's aggregate queries", () => {
  it("reads the file once for every query asked together, and answers each as if alone", async () => {
    const spans = [
      ...costSpans({
        tenants: { a: 10, b: 20 },
        sigma: 0.2,
        seed: 1,
        commits: [{ sha: "a".repeat(40), fromMs: SINCE, untilMs: SINCE + 6 * HOUR, spans: 40, perUnit: 1 }],
      }),
      ...sessionSpans({
        id: "s-1",
        repo: "acme/x",
        startMs: SINCE + HOUR,
        tools: ["Read", "Edit!"],
        denied: ["Bash"],
      }),
    ];
    const path = join(dir, "spans.jsonl");
    writeFileSync(path, toJsonLines(spans));
    const source = new OtlpFileSource(path);
    const window = { sinceMs: SINCE, untilMs: SINCE + 24 * HOUR, stepMs: HOUR };
    const metric = (name: string) => ({
      metric: name,
      per: "billing.record_count",
      tenantKey: "tenant.id",
      ...window,
    });
    const count = (names: string[]) => ({ names, groupBy: ["gen_ai.tool.name"], sums: [], ...window });
    const together = await Promise.all([
      source.measure(metric("s3.bytes_scanned")),
      source.measure(metric("duration")),
      source.countBy(count(["claude_code.tool"])),
      source.countBy(count(["claude_code.permission.denied"])),
    ]);
    expect(source.passes).toBe(1);
    const alone = await source.measure(metric("s3.bytes_scanned"));
    expect(source.passes).toBe(2);
    expect(together[0]).toEqual(alone);
    expect(together[0].cells.reduce((n, c) => n + c.count, 0)).toBe(40);
    expect(together[2].rows.map((r) => [r.keys["gen_ai.tool.name"], r.count]).sort()).toEqual([
      ["Edit", 1],
      ["Read", 1],
    ]);
    expect(together[3].rows).toEqual([
      expect.objectContaining({ keys: { "gen_ai.tool.name": "Bash" }, count: 1 }),
    ]);
  });
});
