import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { billingRegressionSha, buildDemoRepo, readDemoManifest } from "../../scripts/demo-repo.ts";
import { ReportSchema } from "../../src/report/schema.ts";
import {
  type FakeAnthropic,
  type MessagesRequest,
  startFakeAnthropic,
  userText,
} from "../fakes/anthropic.ts";
import { demoWindowArgs, runCli } from "../helpers/cli.ts";

const KEY = "sk-fake-cli";
const manifest = readDemoManifest();

/** Answers like a careful analyst: blames the first suspect listed in the request, if any. */
function respond(request: MessagesRequest) {
  const text = userText(request);
  const suspect = /<evidence kind="suspects">\n([^\s:]+):(\d+)/.exec(text);
  return {
    answer: {
      summary: "Analysed by the fake model.",
      rootCause: suspect
        ? `The changed line ${suspect[1]}:${suspect[2]} fails.`
        : "No code cause in this change.",
      category: suspect ? "code_regression" : "unknown",
      confidence: suspect ? 0.8 : 0.3,
      suspect: suspect
        ? {
            commitSha: billingRegressionSha(manifest),
            path: suspect[1],
            line: Number(suspect[2]),
            why: "first suspect",
          }
        : null,
      violatedCriteria: [],
      evidence: ["span 1"],
      investigationSteps: [],
      fix: null,
    },
  };
}

describe("triage with Claude through the CLI", () => {
  let dir = "";
  let fake: FakeAnthropic;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tracefix-claude-"));
    buildDemoRepo(join(dir, "repo"));
    fake = await startFakeAnthropic({ apiKey: KEY, respond });
  });
  afterAll(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const run = (extra: string[] = []) =>
    runCli([...demoWindowArgs(), "--repo-dir", "repo", "--dry-run", "--json", ...extra], {
      cwd: dir,
      env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url, TRIAGE_MODEL: "claude-sonnet-5-5" },
    });

  it("analyses every group with Claude, reports usage and reads the shared commit's cache", async () => {
    const result = await run(["--out", "out-1"]);
    expect(result.code).toBe(0);
    const report = ReportSchema.parse(JSON.parse(result.stdout));
    expect(report.analyst).toMatchObject({
      name: "claude",
      model: "claude-sonnet-5-5",
      promptVersions: ["root-cause v2", "agent-failure v1", "cost-regression v1", "agent-behaviour v1"],
    });
    expect(report.analyst.calls).toBe(report.groups.length);
    expect(report.groups.every((g) => g.analysis?.analyst === "claude")).toBe(true);
    expect(report.groups[0]?.analysis?.suspect?.path).toBe("src/pricing.js");
    expect(report.usage.inputTokens).toBeGreaterThan(0);
    expect(report.usage.cacheReadTokens).toBeGreaterThan(0);
    expect(report.usage.costUsd).toBeGreaterThan(0);
    const perGroup = report.groups.reduce((n, g) => n + (g.analysis?.usage?.cacheReadTokens ?? 0), 0);
    expect(perGroup).toBe(report.usage.cacheReadTokens);
    expect(report.analyst.pace).toMatchObject({ ceiling: 32, calls: report.groups.length, throttled: 0 });
    expect(readFileSync(join(dir, "out-1", "report.md"), "utf8")).toMatch(
      /Model calls: at most \d+ in flight \(ceiling 32\), \d+\.\d s waited for rate limits\./,
    );
  });

  it("skips the groups past --max-cost and still exits 0", async () => {
    const result = await run(["--out", "out-2", "--max-cost", "0.09"]);
    expect(result.code).toBe(0);
    const report = ReportSchema.parse(JSON.parse(result.stdout));
    const skipped = report.groups.filter((g) => g.skipped);
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped.length).toBeLessThan(report.groups.length);
    expect(skipped[0]?.skipped).toMatch(/run budget exhausted/);
    expect(skipped[0]?.actions.every((a) => a.status === "skipped")).toBe(true);
    expect(report.usage.costUsd).toBeLessThanOrEqual(0.09);
  });

  it("fails only the group the model refuses, and exits 1", async () => {
    const refusing = await startFakeAnthropic({
      apiKey: KEY,
      respond: (request) => {
        const text = JSON.stringify(request.messages);
        return text.includes("InvoiceNotFoundError") ? { stopReason: "refusal", text: "" } : respond(request);
      },
    });
    try {
      const result = await runCli(
        [...demoWindowArgs(), "--repo-dir", "repo", "--dry-run", "--json", "--out", "out-3"],
        { cwd: dir, env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: refusing.url } },
      );
      expect(result.code).toBe(1);
      const report = ReportSchema.parse(JSON.parse(result.stdout));
      const failed = report.groups.filter((g) => g.error);
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.every((g) => g.grouping.exceptionType === "InvoiceNotFoundError")).toBe(true);
      expect(failed[0]?.error).toMatch(/model stopped with refusal/);
      expect(failed[0]?.actions.map((a) => a.status)).toEqual(["failed", "skipped"]);
      expect(report.groups.filter((g) => !g.error).every((g) => g.analysis?.analyst === "claude")).toBe(true);
    } finally {
      await refusing.close();
    }
  });

  it("--batch sends every group in one Message Batch at half the price, and reports how it went", async () => {
    const sync = ReportSchema.parse(JSON.parse((await run(["--out", "out-4"])).stdout));
    const batchesBefore = fake.batched.length;
    const result = await run(["--out", "out-5", "--batch"]);
    expect(result.code, result.stderr).toBe(0);
    const report = ReportSchema.parse(JSON.parse(result.stdout));
    expect(fake.batched.length).toBe(batchesBefore + 1);
    expect(report.analyst.batch).toMatchObject({
      status: "ended",
      submitted: report.groups.length,
      byBatch: report.groups.length,
      bySync: 0,
      reason: null,
    });
    expect(report.groups.every((g) => g.analysis?.via === "batch")).toBe(true);
    expect(report.groups[0]?.analysis?.suspect?.path).toBe("src/pricing.js");
    // The same requests, the same cache reads (the cache was warm for both), at half the price.
    expect(report.usage.costUsd / sync.usage.costUsd).toBeLessThanOrEqual(0.55);
    expect(report.analyst.batch?.savedUsd).toBeCloseTo(report.usage.costUsd, 5);
    const markdown = readFileSync(join(dir, "out-5", "report.md"), "utf8");
    expect(markdown).toContain(`Batch ended: ${report.groups.length} group(s) by batch, 0 by Messages, $`);
    // Nothing went through the paced Messages API, so there is no pace line.
    expect(markdown).not.toContain("Model calls:");
  });

  it("rejects a bad --max-cost before anything runs", async () => {
    const result = await run(["--max-cost", "lots"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "triage: --max-cost: expected a positive amount in USD such as 2.50, got 'lots'\n",
    );
  });
});
