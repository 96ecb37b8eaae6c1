import { describe, expect, it } from "vitest";
import {
  addUsage,
  BudgetExhaustedError,
  costOf,
  emptyUsage,
  pricingFor,
  RunBudget,
} from "../../src/analysis/budget.ts";

const SONNET = pricingFor("claude-sonnet-5-5");
const usage = (inputTokens: number, outputTokens: number, cacheReadTokens = 0, cacheCreationTokens = 0) => ({
  inputTokens,
  outputTokens,
  cacheReadTokens,
  cacheCreationTokens,
});

describe("the run's model budget", () => {
  it("prices each model family, defaulting to the middle one", () => {
    expect(pricingFor("claude-opus-5")).toEqual({ inputPerMTok: 5, outputPerMTok: 25 });
    expect(pricingFor("Claude-HAIKU-4-5")).toEqual({ inputPerMTok: 1, outputPerMTok: 5 });
    expect(pricingFor("claude-sonnet-5-5")).toEqual({ inputPerMTok: 3, outputPerMTok: 15 });
    expect(pricingFor("something-else")).toEqual({ inputPerMTok: 3, outputPerMTok: 15 });
  });

  it("charges cache writes at 1.25× and cache reads at 0.1× the input price", () => {
    expect(costOf(usage(1_000_000, 0), SONNET)).toBe(3);
    expect(costOf(usage(0, 1_000_000), SONNET)).toBe(15);
    expect(costOf(usage(0, 0, 1_000_000), SONNET)).toBeCloseTo(0.3, 10);
    expect(costOf(usage(0, 0, 0, 1_000_000), SONNET)).toBeCloseTo(3.75, 10);
    expect(costOf(usage(200_000, 10_000, 50_000, 40_000), SONNET)).toBeCloseTo(0.6 + 0.15 + 0.015 + 0.15, 10);
  });

  it("adds usage field by field and rounds the cost to a millionth of a dollar", () => {
    const sum = addUsage(
      { ...usage(1, 2, 3, 4), costUsd: 0.1234564 },
      { ...usage(10, 20, 30, 40), costUsd: 0.0000002 },
    );
    expect(sum).toEqual({ ...usage(11, 22, 33, 44), costUsd: 0.123457 });
    expect(addUsage(emptyUsage(), emptyUsage())).toEqual(emptyUsage());
  });

  it("refuses the call past the call ceiling, and counts only calls it allowed", () => {
    const budget = new RunBudget({ maxCostUsd: null, maxCalls: 2 }, SONNET);
    budget.reserve(1_000, 1_000);
    budget.reserve(1_000, 1_000);
    expect(() => budget.reserve(1, 1)).toThrow(BudgetExhaustedError);
    expect(() => budget.reserve(1, 1)).toThrow("run budget exhausted: 2 model calls made (limit 2)");
    expect(budget.callCount).toBe(2);
  });

  it("reserves each call's worst case, so calls in flight cannot overshoot the cost ceiling together", () => {
    // Worst case of one call: 100k input ($0.30) + 20k output ($0.30) = $0.60.
    const budget = new RunBudget({ maxCostUsd: 1.2, maxCalls: 100 }, SONNET);
    const first = budget.reserve(100_000, 20_000);
    expect(first).toBeCloseTo(0.6, 10);
    const second = budget.reserve(100_000, 20_000);
    expect(() => budget.reserve(100_000, 20_000)).toThrow(
      "run budget exhausted: $1.20 spent or in flight, next call could cost $0.60 (limit $1.20)",
    );
    // The answer cost less than reserved: the difference is free again.
    const actual = budget.settle(second, usage(10_000, 1_000));
    expect(actual.costUsd).toBeCloseTo(0.045, 10);
    expect(budget.usage.costUsd).toBeCloseTo(0.045, 10);
    // $0.045 spent and $0.60 still in flight: another worst case does not fit yet.
    expect(() => budget.reserve(100_000, 20_000)).toThrow(/\$0\.65 spent or in flight/);
    budget.settle(first, usage(10_000, 1_000));
    expect(budget.reserve(100_000, 20_000)).toBeCloseTo(0.6, 10);
    expect(budget.callCount).toBe(3);
  });

  it("allows a call that lands exactly on the ceiling, and settles a failed call as free", () => {
    const budget = new RunBudget({ maxCostUsd: 0.6, maxCalls: 100 }, SONNET);
    const reservation = budget.reserve(100_000, 20_000);
    expect(budget.settle(reservation, null)).toEqual(emptyUsage());
    expect(budget.usage).toEqual(emptyUsage());
    budget.settle(reservation, null); // settling twice never makes room below zero
    budget.reserve(100_000, 20_000);
    expect(() => budget.reserve(1, 1)).toThrow(BudgetExhaustedError);
  });
});
