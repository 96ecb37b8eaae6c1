import { describe, expect, it } from "vitest";
import { loadScenarios, runEval } from "../../scripts/eval-runner.ts";
import { OfflineAnalyst } from "../../src/analysis/offline.ts";

describe("the analyst eval", () => {
  it("runs every scenario in fixtures/eval and scores both kinds of answer", async () => {
    const scenarios = loadScenarios();
    const summary = await runEval(new OfflineAnalyst(), scenarios);
    expect(summary.scenarios).toBe(scenarios.length);
    expect(summary.results.every((r) => r.error === undefined)).toBe(true);
    expect(summary.suspectAccuracy.total + summary.noCodeCauseAccuracy.total).toBe(scenarios.length);
    // The set must keep exercising both answers, innocent commits included.
    expect(summary.suspectAccuracy.total).toBeGreaterThanOrEqual(3);
    expect(summary.noCodeCauseAccuracy.total).toBeGreaterThanOrEqual(3);
  });

  it("never blames an innocent commit with the offline analyst", async () => {
    const summary = await runEval(new OfflineAnalyst());
    const blamed = summary.results.filter((r) => r.expected === null && r.predicted !== null);
    expect(blamed).toEqual([]);
  });

  it("follows deploys to the commit that broke them, and beats the first-frame baseline", async () => {
    const summary = await runEval(new OfflineAnalyst());
    // Every deploy whose previous commit is known and whose stack reaches the bug is pinned on
    // the right commit and file; a walk back (unknown previous commit) only names a candidate.
    const pinned = summary.results.filter(
      (r) => r.commit && r.onStack && !r.name.includes("unknown-previous"),
    );
    expect(pinned.length).toBeGreaterThanOrEqual(4);
    for (const r of pinned) {
      expect(r.commit?.predicted, r.name).toBe(r.commit?.expected);
      expect(r.predicted, r.name).toBe(r.expected);
    }
    const rate = (a: { correct: number; total: number }) => a.correct / a.total;
    expect(rate(summary.onStackAccuracy)).toBeGreaterThanOrEqual(0.9);
    expect(summary.correctVerdicts.correct).toBeGreaterThan(summary.baseline.correctVerdicts.correct);
    expect(summary.commitAccuracy.correct).toBeGreaterThan(summary.baseline.commitAccuracy.correct);
    // "No code cause" is never said of a commit that had one.
    expect(summary.noCodeCausePrecision.correct).toBe(summary.noCodeCausePrecision.total);
  });
});
