/** USD per million tokens. Estimates from public list prices (late 2026); override in triage.config.json. */
export interface Pricing {
  inputPerMTok: number;
  outputPerMTok: number;
}

// Cache writes cost 1.25× input and cache reads 0.1× input on the Messages API.
const CACHE_WRITE = 1.25;
const CACHE_READ = 0.1;

export function pricingFor(model: string): Pricing {
  if (/opus/i.test(model)) return { inputPerMTok: 5, outputPerMTok: 25 };
  if (/haiku/i.test(model)) return { inputPerMTok: 1, outputPerMTok: 5 };
  return { inputPerMTok: 3, outputPerMTok: 15 };
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  costUsd: number;
}

export function emptyUsage(): TokenUsage {
  return { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, costUsd: 0 };
}

export function costOf(usage: Omit<TokenUsage, "costUsd">, pricing: Pricing): number {
  const input =
    usage.inputTokens + usage.cacheCreationTokens * CACHE_WRITE + usage.cacheReadTokens * CACHE_READ;
  return (input * pricing.inputPerMTok + usage.outputTokens * pricing.outputPerMTok) / 1_000_000;
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheCreationTokens: a.cacheCreationTokens + b.cacheCreationTokens,
    costUsd: Math.round((a.costUsd + b.costUsd) * 1e6) / 1e6,
  };
}

/** Raised before a model call that the run can no longer afford; the group is reported as skipped. */
export class BudgetExhaustedError extends Error {
  override readonly name = "BudgetExhaustedError";
}

export interface BudgetLimits {
  maxCostUsd: number | null;
  maxCalls: number;
}

/**
 * The run's ceiling on model spend. A call reserves its worst case (estimated input, full
 * max_tokens output) before it is sent, so concurrent calls cannot overshoot; the reservation is
 * replaced by the real usage when the answer comes back.
 */
export class RunBudget {
  private spent = emptyUsage();
  private reservedUsd = 0;
  private calls = 0;
  private readonly limits: BudgetLimits;
  private readonly pricing: Pricing;

  constructor(limits: BudgetLimits, pricing: Pricing) {
    this.limits = limits;
    this.pricing = pricing;
  }

  get usage(): TokenUsage {
    return { ...this.spent };
  }

  get callCount(): number {
    return this.calls;
  }

  /** `factor` scales the price: 0.5 for the Message Batches API. */
  reserve(estimatedInputTokens: number, maxOutputTokens: number, factor = 1): number {
    if (this.calls >= this.limits.maxCalls) {
      throw new BudgetExhaustedError(
        `run budget exhausted: ${this.calls} model calls made (limit ${this.limits.maxCalls})`,
      );
    }
    const worst =
      factor *
      costOf(
        {
          inputTokens: estimatedInputTokens,
          outputTokens: maxOutputTokens,
          cacheReadTokens: 0,
          cacheCreationTokens: 0,
        },
        this.pricing,
      );
    const max = this.limits.maxCostUsd;
    if (max !== null && this.spent.costUsd + this.reservedUsd + worst > max) {
      throw new BudgetExhaustedError(
        `run budget exhausted: $${(this.spent.costUsd + this.reservedUsd).toFixed(2)} spent or in flight, next call could cost $${worst.toFixed(2)} (limit $${max.toFixed(2)})`,
      );
    }
    this.calls += 1;
    this.reservedUsd += worst;
    return worst;
  }

  settle(reservation: number, usage: Omit<TokenUsage, "costUsd"> | null, factor = 1): TokenUsage {
    this.reservedUsd = Math.max(0, this.reservedUsd - reservation);
    const actual = usage ? { ...usage, costUsd: factor * costOf(usage, this.pricing) } : emptyUsage();
    this.spent = addUsage(this.spent, actual);
    return actual;
  }
}
