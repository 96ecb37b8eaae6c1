import { describe, expect, it } from "vitest";
import { pricingFor, RunBudget } from "../../src/analysis/budget.ts";
import { ClaudeAnalyst } from "../../src/analysis/claude.ts";
import { costOf, ModelPace, PaceWaitError, pacedFetch } from "../../src/analysis/pace.ts";
import { startFakeAnthropic } from "../fakes/anthropic.ts";
import { modelAnswer } from "../helpers/answers.ts";
import { evidence } from "../helpers/evidence.ts";
import { rankedGroupsOf } from "../helpers/groups.ts";
import { exceptionSpan, PRICING_STACK } from "../helpers/spans.ts";

const headers = (values: Record<string, string>) => new Headers(values);
const announced = (limit: number, remaining: number, fullInMs: number, at: number) => ({
  "anthropic-ratelimit-requests-limit": String(limit),
  "anthropic-ratelimit-requests-remaining": String(remaining),
  "anthropic-ratelimit-requests-reset": new Date(at + fullInMs).toISOString(),
});

describe("the model pace", () => {
  it("lets `start` calls go before anything is announced, and one more per answer after", async () => {
    const pace = new ModelPace({ ceiling: 8, start: 2, maxWaitMs: 10_000 });
    const a = await pace.acquire({ inputTokens: 10, outputTokens: 10 });
    await pace.acquire({ inputTokens: 10, outputTokens: 10 });
    let third = false;
    const waiting = pace.acquire({ inputTokens: 10, outputTokens: 10 }).then((end) => {
      third = true;
      return end;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBe(false);
    pace.observe(200, headers({}));
    a();
    (await waiting)();
    expect(third).toBe(true);
    expect(pace.allowed).toBe(3);
  });

  it("rises at once to what the announced buckets hold, never past the ceiling", async () => {
    const pace = new ModelPace({ ceiling: 16, start: 1, maxWaitMs: 10_000 });
    const end = await pace.acquire({ inputTokens: 100, outputTokens: 100 });
    pace.observe(200, headers(announced(50, 49, 1_200, Date.now())));
    end();
    expect(pace.allowed).toBe(16);
    const small = new ModelPace({ ceiling: 16, start: 1, maxWaitMs: 10_000 });
    (await small.acquire({ inputTokens: 1, outputTokens: 1 }))();
    small.observe(200, headers(announced(50, 5, 54_000, Date.now())));
    expect(small.allowed).toBe(5);
  });

  it("never lets more calls out than the requests bucket holds, waiting for it to refill", async () => {
    let now = 1_000_000;
    const pace = new ModelPace({ ceiling: 16, start: 16, maxWaitMs: 120_000 }, () => now);
    pace.observe(200, headers(announced(60, 2, 58_000, now)));
    const first = await pace.acquire({ inputTokens: 1, outputTokens: 1 });
    const second = await pace.acquire({ inputTokens: 1, outputTokens: 1 });
    let third = false;
    const waiting = pace.acquire({ inputTokens: 1, outputTokens: 1 }).then((end) => {
      third = true;
      return end;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBe(false);
    // One request refills per second at 60 a minute.
    now += 1_000;
    first();
    second();
    (await waiting)();
    expect(third).toBe(true);
  });

  it("halves on a 429 and holds every call until its retry-after has passed", async () => {
    let now = 5_000_000;
    const pace = new ModelPace({ ceiling: 16, start: 8, maxWaitMs: 120_000 }, () => now);
    pace.observe(429, headers({ "retry-after": "3" }));
    expect(pace.allowed).toBe(4);
    expect(pace.stats.throttled).toBe(1);
    let let_ = false;
    const waiting = pace.acquire({ inputTokens: 1, outputTokens: 1 }).then((end) => {
      let_ = true;
      return end;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(let_).toBe(false);
    now += 3_000;
    pace.observe(529, headers({}));
    (await waiting)();
    expect(pace.allowed).toBe(2);
  });

  it("fails a call that would wait past its bound, naming the wait", async () => {
    const pace = new ModelPace({ ceiling: 4, start: 4, maxWaitMs: 5_000 });
    pace.observe(429, headers({ "retry-after": "3600" }));
    await expect(pace.acquire({ inputTokens: 1, outputTokens: 1 })).rejects.toThrow(
      new PaceWaitError("the model's rate limits leave no room for 3600 s, past the 5 s a call may wait"),
    );
  });

  it("does not count waiting for a free slot against the bound: a queue is not a rate limit", async () => {
    let now = 0;
    const pace = new ModelPace({ ceiling: 1, start: 1, maxWaitMs: 1_000 }, () => now);
    const first = await pace.acquire({ inputTokens: 1, outputTokens: 1 });
    let second = false;
    const waiting = pace.acquire({ inputTokens: 1, outputTokens: 1 }).then((end) => {
      second = true;
      return end;
    });
    // The first call takes a minute, far past the bound; the second only queues behind it.
    now += 60_000;
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBe(false);
    first();
    (await waiting)();
    expect(second).toBe(true);
  });

  it("ignores missing and nonsensical headers", async () => {
    const pace = new ModelPace({ ceiling: 4, start: 1, maxWaitMs: 1_000 });
    pace.observe(
      200,
      headers({
        "anthropic-ratelimit-requests-limit": "-5",
        "anthropic-ratelimit-requests-remaining": "3",
        "anthropic-ratelimit-requests-reset": "yesterday",
        "anthropic-ratelimit-input-tokens-limit": "1000",
        "anthropic-ratelimit-input-tokens-remaining": "5000",
        "anthropic-ratelimit-input-tokens-reset": new Date().toISOString(),
        "retry-after": "soon",
      }),
    );
    expect(pace.stats.announced).toEqual({ requests: null, inputTokens: null, outputTokens: null });
    expect(pace.allowed).toBe(2);
    (await pace.acquire({ inputTokens: 10, outputTokens: 10 }))();
  });

  it("reads a request's cost from its text and its max_tokens", () => {
    const body = JSON.stringify({
      max_tokens: 4096,
      system: [{ type: "text", text: "s".repeat(700) }],
      messages: [{ role: "user", content: [{ type: "text", text: "u".repeat(350) }] }],
    });
    expect(costOf(body)).toEqual({ inputTokens: 300, outputTokens: 4096, prefix: null });
    expect(costOf("not json")).toEqual({ inputTokens: 3, outputTokens: 0, prefix: null });
    expect(costOf(undefined)).toEqual({ inputTokens: 0, outputTokens: 0, prefix: null });
    const cached = JSON.stringify({
      max_tokens: 10,
      system: [{ type: "text", text: "s".repeat(700), cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: [{ type: "text", text: "u".repeat(350) }] }],
    });
    expect(costOf(cached)).toEqual({
      inputTokens: 300,
      outputTokens: 10,
      prefix: { key: expect.stringMatching(/^[0-9a-f]{32}$/), tokens: 200 },
    });
  });
});

describe("the paced fetch", () => {
  const request = (prefix: string) => ({
    method: "POST",
    body: JSON.stringify({
      max_tokens: 1,
      system: [{ type: "text", text: prefix.repeat(700), cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: [{ type: "text", text: "u".repeat(350) }] }],
    }),
  });

  it("charges a prompt whose prefix was just answered for what follows the prefix only", async () => {
    const pace = new ModelPace({ ceiling: 4, start: 4, maxWaitMs: 1_000 });
    // The provider's answer: 150 of 1,000 input tokens left, full again in a minute.
    const provider: typeof fetch = async () =>
      new Response("{}", {
        status: 200,
        headers: {
          "anthropic-ratelimit-input-tokens-limit": "1000",
          "anthropic-ratelimit-input-tokens-remaining": "150",
          "anthropic-ratelimit-input-tokens-reset": new Date(Date.now() + 60_000).toISOString(),
        },
      });
    const paced = pacedFetch(pace, provider);
    await paced("https://api.anthropic.com/v1/messages", request("s"));
    // The same prefix is read from the cache: 100 tokens fit in the 150 left.
    await paced("https://api.anthropic.com/v1/messages", request("s"));
    // Another prefix would need all 300: the refill takes longer than a call may wait.
    await expect(paced("https://api.anthropic.com/v1/messages", request("t"))).rejects.toBeInstanceOf(
      PaceWaitError,
    );
    // Other endpoints are not paced at all.
    await paced("https://api.anthropic.com/v1/models/claude-sonnet-5-5", { method: "GET" });
    expect(pace.stats.calls).toBe(2);
  });
});

describe("Claude at the provider's limits", () => {
  it("keeps every call within the announced limits of a fake that enforces them", async () => {
    const fake = await startFakeAnthropic({
      apiKey: "sk",
      // A "minute" of 3 s: the buckets refill fast enough for a test and still bind.
      limits: {
        requestsPerMinute: 600,
        inputTokensPerMinute: 12_000,
        outputTokensPerMinute: 60_000,
        minuteMs: 3_000,
      },
      respond: () => ({ answer: modelAnswer() }),
    });
    try {
      const pace = new ModelPace({ ceiling: 32, start: 4, maxWaitMs: 60_000 });
      const claude = new ClaudeAnalyst(
        {
          apiKey: "sk",
          baseUrl: fake.url,
          model: "claude-sonnet-5-5",
          maxOutputTokens: 1_000,
          inputBudgetTokens: 25_000,
          diffTokenBudget: 12_000,
          timeoutMs: 10_000,
          retries: 2,
          cacheWarmup: false,
        },
        new RunBudget({ maxCostUsd: null, maxCalls: 100 }, pricingFor("claude-sonnet-5-5")),
        pace,
      );
      const groups = rankedGroupsOf(
        Array.from({ length: 12 }, (_, i) =>
          exceptionSpan(`Error${i}`, `failure ${i} ${"detail ".repeat(1_500)}`, PRICING_STACK),
        ),
      );
      const answers = await Promise.all(groups.map((g) => claude.analyse(g, evidence())));
      expect(fake.overLimit).toBe(0);
      expect(answers).toHaveLength(12);
      expect(pace.stats.throttled).toBe(0);
      expect(pace.stats.announced).toEqual({ requests: 600, inputTokens: 12_000, outputTokens: 60_000 });
      // About 1,500 input tokens a call, 18,000 in all against a bucket of 12,000: without the
      // pace some calls would be refused; with it they waited for the refill instead.
      expect(fake.calls).toHaveLength(12);
      expect(pace.stats.peakInFlight).toBeGreaterThan(4);
      expect(pace.stats.waitedMs).toBeGreaterThan(0);
    } finally {
      await fake.close();
    }
  });
});
