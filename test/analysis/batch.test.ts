import { afterEach, describe, expect, it } from "vitest";
import { BatchAnalyst } from "../../src/analysis/batch.ts";
import { BudgetExhaustedError, pricingFor, RunBudget } from "../../src/analysis/budget.ts";
import { ClaudeAnalyst } from "../../src/analysis/claude.ts";
import type { RankedGroup } from "../../src/grouping/rank.ts";
import { type FakeAnthropic, type FakeBatchBehaviour, startFakeAnthropic } from "../fakes/anthropic.ts";
import { modelAnswer } from "../helpers/answers.ts";
import { evidence } from "../helpers/evidence.ts";
import { rankedGroupsOf } from "../helpers/groups.ts";
import { exceptionSpan, PRICING_STACK } from "../helpers/spans.ts";

const PRICING = pricingFor("claude-sonnet-5-5");

describe("batch mode", () => {
  let fake: FakeAnthropic | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  const setUp = async (
    behaviour: FakeBatchBehaviour = {},
    options: { maxWaitMs?: number; maxCostUsd?: number | null; maxOutputTokens?: number } = {},
  ) => {
    fake = await startFakeAnthropic({
      apiKey: "sk",
      respond: () => ({ answer: modelAnswer() }),
      batches: behaviour,
    });
    const budget = new RunBudget({ maxCostUsd: options.maxCostUsd ?? null, maxCalls: 100 }, PRICING);
    const claude = new ClaudeAnalyst(
      {
        apiKey: "sk",
        baseUrl: fake.url,
        model: "claude-sonnet-5-5",
        maxOutputTokens: options.maxOutputTokens ?? 1_000,
        inputBudgetTokens: 25_000,
        diffTokenBudget: 12_000,
        timeoutMs: 5_000,
        retries: 0,
        cacheWarmup: false,
      },
      budget,
    );
    const batch = new BatchAnalyst(claude, budget, {
      maxWaitMs: options.maxWaitMs ?? 5_000,
      firstPollMs: 20,
      maxPollMs: 50,
    });
    const groups = rankedGroupsOf(
      Array.from({ length: 4 }, (_, i) => exceptionSpan(`Error${i}`, `failure ${i}`, PRICING_STACK)),
    );
    return { fake, budget, claude, batch, groups };
  };
  const askAll = (batch: BatchAnalyst, groups: RankedGroup[]) => {
    const answers = groups.map((g) =>
      batch.analyse(g, evidence()).then(
        (a) => a,
        (e: unknown) => e,
      ),
    );
    void batch.flush();
    return Promise.all(answers);
  };

  it("answers every group from one batch, with the same requests, at half the price", async () => {
    const { fake, budget, claude, batch, groups } = await setUp();
    const answers = await askAll(batch, groups);
    expect(answers.every((a) => (a as { via?: string }).via === "batch")).toBe(true);
    expect(fake.batched).toHaveLength(1);
    expect(fake.calls).toHaveLength(0);
    // The same request the Messages path would send, cache markers included.
    const sent = fake.batched[0]?.[0];
    expect(JSON.parse(JSON.stringify(claude.request(groups[0] as RankedGroup, evidence()).params))).toEqual(
      sent,
    );
    expect(batch.outcome).toMatchObject({
      status: "ended",
      submitted: 4,
      byBatch: 4,
      bySync: 0,
      reason: null,
    });
    const full = budget.usage;
    const atMessagesPrice =
      ((full.inputTokens + full.cacheCreationTokens * 1.25 + full.cacheReadTokens * 0.1) *
        PRICING.inputPerMTok +
        full.outputTokens * PRICING.outputPerMTok) /
      1_000_000;
    expect(full.costUsd).toBeCloseTo(atMessagesPrice / 2, 6);
    expect(batch.outcome.savedUsd).toBeCloseTo(atMessagesPrice / 2, 6);
  });

  it("cancels a batch that is not done in time and sends the rest through the Messages API", async () => {
    const { fake, batch, groups } = await setUp({ processingMs: 60_000 }, { maxWaitMs: 200 });
    const answers = await askAll(batch, groups);
    expect(
      answers.every((a) => (a as { via?: string }).via === undefined && "summary" in (a as object)),
    ).toBe(true);
    expect(fake.calls).toHaveLength(4);
    expect(fake.requests.some((r) => r.method === "POST" && r.path.endsWith("/cancel"))).toBe(true);
    expect(batch.outcome).toMatchObject({
      status: "timed_out",
      byBatch: 0,
      bySync: 4,
      reason: "the batch was not done within 0 s; canceled, and the rest sent through the Messages API",
    });
    expect(batch.outcome.waitedMs).toBeGreaterThanOrEqual(200);
  });

  it("sends expired items through the Messages API and says so", async () => {
    const { fake, batch, groups } = await setUp({ expire: true });
    await askAll(batch, groups);
    expect(fake.calls).toHaveLength(4);
    expect(batch.outcome).toMatchObject({
      status: "ended",
      byBatch: 0,
      bySync: 4,
      reason: "4 request(s) canceled or expired in the batch; sent through the Messages API",
    });
  });

  it("fails the groups whose request the batch refused, with the batch's reason", async () => {
    const { batch, groups } = await setUp({}, { maxOutputTokens: 70_000 });
    const answers = await askAll(batch, groups);
    for (const a of answers)
      expect(String(a)).toMatch(/the batch refused the request: invalid_request_error: max_tokens/);
  });

  it("falls back to the Messages API when the batch cannot be sent", async () => {
    const { fake, batch, groups } = await setUp();
    fake.inject(
      {
        kind: "status",
        status: 400,
        body: { type: "error", error: { type: "invalid_request_error", message: "no batches here" } },
      },
      {
        match: (r) => r.path === "/v1/messages/batches",
      },
    );
    const answers = await askAll(batch, groups);
    expect(answers.every((a) => "summary" in (a as object))).toBe(true);
    expect(batch.outcome).toMatchObject({ status: "failed", bySync: 4 });
    expect(batch.outcome.reason).toMatch(
      /^the batch failed \(400 .*no batches here.*\); sent through the Messages API$/,
    );
  });

  it("puts in the batch only what the run can afford, and skips the rest", async () => {
    // One worst-case request (about 400 input and 1,000 output tokens at half price) fits twice.
    const { fake, batch, groups } = await setUp({}, { maxCostUsd: 0.0175 });
    const answers = await askAll(batch, groups);
    const skipped = answers.filter((a) => a instanceof BudgetExhaustedError);
    expect(skipped.length).toBeGreaterThan(0);
    expect(fake.batched[0]?.length).toBe(4 - skipped.length);
  });

  it("answers a group that asks after the batch went out through the Messages API", async () => {
    const { fake, batch, groups } = await setUp();
    await batch.flush();
    const late = await batch.analyse(groups[0] as RankedGroup, evidence());
    expect(late.summary).toBe("s");
    expect(fake.calls).toHaveLength(1);
    expect(batch.outcome.bySync).toBe(1);
  });
});
