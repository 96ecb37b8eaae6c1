import { afterEach, describe, expect, it } from "vitest";
import { startWorld, type World } from "./world.ts";

describe("budget runaway", () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it("a model that always answers garbage costs one call per group, never a loop", async () => {
    world = await startWorld({
      respond: () => ({ text: "I need more context. Please send the full repository." }),
    });
    const night = await world.night();
    const groups = night.report?.groups ?? [];
    expect(groups.length).toBeGreaterThan(0);
    expect(world.claude.calls).toHaveLength(groups.length);
    expect(night.report?.analyst.calls).toBe(groups.length);
    expect(groups.every((g) => /model output is not JSON/.test(g.error ?? ""))).toBe(true);
    expect(night.code).toBe(1);
  });

  it("stops at the run's call ceiling and reports the rest as skipped", async () => {
    world = await startWorld({
      respond: () => ({ stopReason: "max_tokens", text: '{"summary": "and then' }),
      config: { analysis: { maxCalls: 3, timeoutMs: 1_000, retries: 1 } },
    });
    const night = await world.night();
    expect(world.claude.calls.length).toBeLessThanOrEqual(3);
    const skipped = night.report?.groups.filter((g) => g.skipped) ?? [];
    expect(skipped.length).toBe((night.report?.groups.length ?? 0) - 3);
    expect(skipped.every((g) => /3 model calls made \(limit 3\)/.test(g.skipped ?? ""))).toBe(true);
  });

  it("never spends past --max-cost, whatever the model does", async () => {
    // Opus pricing and 8k max_tokens: each call reserves about $0.2 up front, so $0.5 stops the run early.
    world = await startWorld({
      respond: () => ({ text: "x".repeat(20_000) }),
      config: { analysis: { maxOutputTokens: 8_000, timeoutMs: 1_000, retries: 1 } },
    });
    const night = await world.night({ TRIAGE_MODEL: "claude-opus-5-5" }, ["--max-cost", "0.5"]);
    expect(night.report?.usage.costUsd).toBeGreaterThan(0);
    expect(night.report?.usage.costUsd).toBeLessThanOrEqual(0.5);
    const calls = world.claude.calls.length;
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(night.report?.groups.length ?? 0);
    expect(night.report?.groups.filter((g) => g.skipped).length).toBe(
      (night.report?.groups.length ?? 0) - calls,
    );
  });
});
