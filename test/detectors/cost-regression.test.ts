import { describe, expect, it } from "vitest";
import { CostRegressionDetector } from "../../src/detectors/cost-regression/detect.ts";
import { regressionSettings } from "../../src/detectors/cost-regression/settings.ts";
import { studentTCdf } from "../../src/detectors/cost-regression/significance.ts";
import type { TelemetrySpan } from "../../src/telemetry/span.ts";
import { type CommitRun, costSpans, memorySource } from "../helpers/cost-spans.ts";

const HOUR = 3_600_000;
const SINCE = Date.parse("2026-11-20T00:00:00Z");
const UNTIL = SINCE + 24 * HOUR;
const BEFORE = "b".repeat(40);
const AFTER = "a".repeat(40);
const TENANTS = { acme: 400, globex: 120, initech: 50 };

function runs(after: Partial<CommitRun>, perSide = 30, before: Partial<CommitRun> = {}): CommitRun[] {
  return [
    { sha: BEFORE, fromMs: SINCE - 24 * HOUR, untilMs: SINCE, spans: perSide, perUnit: 1, ...before },
    { sha: AFTER, fromMs: SINCE, untilMs: UNTIL, spans: perSide, perUnit: 1, ...after },
  ];
}

async function detect(
  spans: TelemetrySpan[],
  file: Parameters<typeof regressionSettings>[0] = {},
  failing = false,
) {
  const settings = regressionSettings({
    metrics: [{ name: "s3.bytes_scanned" }, { name: "athena.query_cost", usd: true }],
    ...file,
  });
  const seen: string[] = [];
  const run = await new CostRegressionDetector(settings).detect({
    sources: [memorySource(spans, failing)],
    window: { sinceMs: SINCE, untilMs: UNTIL },
    info: () => undefined,
    noteCommitSeen: (sha) => seen.push(sha),
  });
  return { ...run, seen };
}

describe("Student's t CDF", () => {
  it("matches reference values (R's pt)", () => {
    expect(studentTCdf(2, 10)).toBeCloseTo(0.963306, 5);
    expect(studentTCdf(-1, 3)).toBeCloseTo(0.195501, 5);
    expect(studentTCdf(0, 7)).toBe(0.5);
    expect(studentTCdf(3.5, 200)).toBeCloseTo(0.999713, 5);
    expect(studentTCdf(Infinity, 4)).toBe(1);
  });
});

describe("cost regressions per commit", () => {
  it("flags a 1.5× per-record regression with its commit, baseline, tenants and extra cost", async () => {
    const { groups, summary, seen } = await detect(
      costSpans({
        tenants: TENANTS,
        sigma: 0.3,
        seed: 1,
        commits: runs({ perUnit: 1.5, issueKey: "BILL-152" }),
      }),
    );
    expect(groups).toHaveLength(1);
    const [group] = groups;
    expect(group).toMatchObject({
      kind: "cost_regression",
      service: "usage-export",
      commitSha: AFTER,
      issueKey: "BILL-152",
      sampled: true,
    });
    const r = group?.regression;
    expect(r?.metric).toBe("s3.bytes_scanned");
    expect(r?.per).toBe("billing.record_count");
    expect(r?.baseline.commitSha).toBe(BEFORE);
    expect(r?.ratio).toBeGreaterThan(1.3);
    expect(r?.ratio).toBeLessThan(1.8);
    expect(r?.tenants.total).toBe(3);
    expect(r?.test.pValue).toBeLessThan(0.001);
    expect(r?.alsoRegressed.map((o) => o.metric)).toEqual(["athena.query_cost"]);
    expect(r?.extraCostUsdPerDay).toBeGreaterThan(0);
    expect(r?.code).toEqual({ path: "etl/usage-export.js", function: "exportUsage" });
    expect(summary).toMatchObject({ comparisons: 2, flagged: 1 });
    expect(seen).toContain(AFTER);
  });

  it("does not flag twice the volume at the same cost per record", async () => {
    const { groups, summary } = await detect(
      costSpans({ tenants: TENANTS, sigma: 0.3, seed: 2, commits: runs({ volume: 2 }) }),
    );
    expect(groups).toEqual([]);
    expect(summary.comparisons).toBe(2);
  });

  it("does not flag a tenant mix that shifts towards the expensive tenant", async () => {
    // One tenant costs 3× per record; after the deploy it sends most of the spans.
    const spans = costSpans({ tenants: { cheap: 100, dear: 100 }, sigma: 0.2, seed: 3, commits: runs({}) });
    for (const span of spans) {
      if (span.attributes["tenant.id"] === "dear")
        span.attributes["s3.bytes_scanned"] = Number(span.attributes["s3.bytes_scanned"]) * 3;
    }
    const shifted = spans.filter(
      (s) =>
        !(
          s.resource["build.commit_sha"] === AFTER &&
          s.attributes["tenant.id"] === "cheap" &&
          s.startTimeMs % 3 !== 0
        ),
    );
    const { groups } = await detect(shifted);
    expect(groups).toEqual([]);
  });

  it("does not blame a deploy for a climb that runs through both commits", async () => {
    // Cost per record climbs 1.6× a day on both commits: no step at the deploy.
    const spans = costSpans({
      tenants: TENANTS,
      sigma: 0.1,
      seed: 4,
      commits: runs({ perUnit: 1.6, drift: 1.6 }, 60, { drift: 1.6 }),
    });
    const { groups } = await detect(spans);
    expect(groups).toEqual([]);
  });

  it("does not flag drift inside the new commit alone (cost per record creeping up over its run)", async () => {
    let alarms = 0;
    for (let seed = 200; seed < 220; seed++) {
      const spans = costSpans({ tenants: TENANTS, sigma: 0.2, seed, commits: runs({ drift: 2 }, 60) });
      alarms += (await detect(spans)).groups.length;
    }
    expect(alarms).toBe(0);
  });

  it("raises no false alarm on unchanged heavy noise (40 seeds)", async () => {
    let alarms = 0;
    for (let seed = 100; seed < 140; seed++) {
      const { groups } = await detect(costSpans({ tenants: TENANTS, sigma: 0.8, seed, commits: runs({}) }));
      alarms += groups.length;
    }
    expect(alarms).toBe(0);
  });

  it("skips and counts bad input instead of flagging or crashing", async () => {
    const spans = costSpans({
      tenants: TENANTS,
      sigma: 0.2,
      seed: 5,
      commits: runs({ perUnit: 3 }),
      spoil: (span, i) => {
        if (i % 7 === 0) span.attributes["s3.bytes_scanned"] = "lots";
        if (i % 11 === 0) span.attributes["billing.record_count"] = 0;
        if (i % 13 === 0) delete span.resource["build.commit_sha"];
      },
    });
    // A commit seen once, inside the window only: a single sample is not evidence.
    const lone = costSpans({
      tenants: { acme: 10 },
      sigma: 0,
      seed: 6,
      operation: "compact",
      commits: [
        { sha: "c".repeat(40), fromMs: SINCE + HOUR, untilMs: SINCE + 2 * HOUR, spans: 1, perUnit: 9 },
      ],
    });
    const { groups, summary } = await detect([...spans, ...lone]);
    expect(groups).toHaveLength(1);
    expect(groups[0]?.regression?.ratio).toBeGreaterThan(2);
    expect(summary.skipped).toMatchObject({
      "spans whose s3.bytes_scanned was not a number": expect.any(Number),
      "cells whose billing.record_count summed to 0": expect.any(Number),
      "spans without a usable build.commit_sha": expect.any(Number),
      "commits with no earlier commit of the same operation in the lookback": expect.any(Number),
    });
  });

  it("compares per span when the operation's spans carry no unit of work", async () => {
    const spans = costSpans({
      tenants: TENANTS,
      sigma: 0.2,
      seed: 7,
      commits: runs({ perUnit: 2, volume: 1 }),
    });
    for (const span of spans) delete span.attributes["billing.record_count"];
    const { groups } = await detect(spans);
    expect(groups[0]?.regression?.per).toBeNull();
  });

  it("reports a source it could not read as blind, not clean", async () => {
    const { groups, summary } = await detect(
      costSpans({ tenants: TENANTS, sigma: 0.3, seed: 8, commits: runs({ perUnit: 2 }) }),
      {},
      true,
    );
    expect(groups).toEqual([]);
    expect(summary.failed).toEqual([
      { source: "file", metric: "s3.bytes_scanned", message: "backend down" },
      { source: "file", metric: "athena.query_cost", message: "backend down" },
    ]);
  });

  it("is off when regressions.enabled is false", async () => {
    const { groups, summary } = await detect(
      costSpans({ tenants: TENANTS, sigma: 0.3, seed: 9, commits: runs({ perUnit: 2 }) }),
      { enabled: false },
    );
    expect(groups).toEqual([]);
    expect(summary.enabled).toBe(false);
  });
});
