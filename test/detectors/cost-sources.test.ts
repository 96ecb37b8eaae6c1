import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Report } from "../../src/report/schema.ts";
import { costSpans } from "../helpers/cost-spans.ts";
import { type ThreeSources, threeSources } from "../helpers/three-sources.ts";

const HOUR = 3_600_000;
// Honeycomb queries only the last 7 days: the data sits just before now.
const UNTIL = Math.floor(Date.now() / HOUR) * HOUR;
const SINCE = UNTIL - 24 * HOUR;
const BEFORE = "b".repeat(40);
const VOLUME = "d".repeat(40);
const AFTER = "a".repeat(40);

// An ETL operation across three commits: one doubles the volume, the next regresses bytes per record.
const spans = costSpans({
  tenants: { acme: 400, globex: 120, initech: 50, umbrella: 900 },
  sigma: 0.25,
  seed: 42,
  commits: [
    { sha: BEFORE, fromMs: SINCE - 2 * 24 * HOUR, untilMs: SINCE + 2 * HOUR, spans: 80, perUnit: 1 },
    { sha: VOLUME, fromMs: SINCE + 2 * HOUR, untilMs: SINCE + 12 * HOUR, spans: 60, perUnit: 1, volume: 2 },
    { sha: AFTER, fromMs: SINCE + 12 * HOUR, untilMs: UNTIL, spans: 60, perUnit: 2.5, issueKey: "BILL-152" },
  ],
});

function regressions(report: Report) {
  return report.groups
    .filter((g) => g.kind === "cost_regression")
    .map((g) => ({
      fingerprint: g.fingerprint,
      commitSha: g.commitSha,
      metric: g.regression?.metric,
      baseline: g.regression?.baseline.commitSha,
      ratio: Number(g.regression?.ratio.toFixed(6)),
      tenants: g.regression?.tenants.rows.map((t) => `${t.id}:${t.countBefore}→${t.countAfter}`),
      cells: g.regression?.test.cells,
      alsoRegressed: g.regression?.alsoRegressed.map((o) => o.metric),
    }));
}

describe("cost regressions through the file source, SigNoz and Honeycomb", () => {
  let sources: ThreeSources;
  beforeAll(async () => {
    sources = await threeSources(spans, { sinceMs: SINCE, untilMs: UNTIL });
  });
  afterAll(() => sources.close());

  it("names the regressed commit, not the volume commit, with the same figures from every source", async () => {
    const file = await sources.run("file", "out-file");
    const viaSignoz = await sources.run("signoz", "out-signoz");
    const viaHoneycomb = await sources.run("honeycomb", "out-honeycomb");
    const expected = regressions(file.report);
    expect(expected).toEqual([
      expect.objectContaining({ commitSha: AFTER, metric: "s3.bytes_scanned", baseline: VOLUME }),
    ]);
    expect(expected[0]?.ratio).toBeGreaterThan(2);
    expect(expected[0]?.alsoRegressed).toContain("athena.query_cost");
    expect(regressions(viaSignoz.report)).toEqual(expected);
    expect(regressions(viaHoneycomb.report)).toEqual(expected);
    for (const { report } of [file, viaSignoz, viaHoneycomb]) {
      expect(report.costCheck).toMatchObject({ flagged: 1, failed: [] });
      expect(report.costCheck?.comparisons).toBe(file.report.costCheck?.comparisons);
    }
    // Pushed down: a constant number of metric requests, whatever the number of spans.
    const metricQueries = sources.signoz.requests.filter((r) =>
      r.body.includes("billing.record_count NOT EXISTS"),
    ).length;
    expect(metricQueries).toBe(3);
    const md = readFileSync(join(sources.dir, "out-signoz", "report.md"), "utf8");
    expect(md).toContain("## Cost regressions");
    expect(md).toContain("xychart-beta");
    expect(md).toMatch(/\| umbrella \| [\d.]+k \| [\d.]+k \| ×\d\.\d\d \|/);
  });

  it("reports a failed metric query as a blind spot, and exits 1", async () => {
    sources.signoz.inject(
      { kind: "status", status: 500 },
      { match: (r) => r.body.includes("billing.record_count NOT EXISTS"), times: 20 },
    );
    const { code, report, stderr } = await sources.run("signoz", "out-fault");
    expect(regressions(report)).toEqual([]);
    expect(report.costCheck?.failed.length).toBe(3);
    expect(report.warnings.map((w) => w.code)).toContain("cost_check_failed");
    expect(stderr).toMatch(/cost check could not read s3\.bytes_scanned from SigNoz/);
    expect(code).toBe(1);
  });
});
