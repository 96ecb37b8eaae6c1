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
});
