import { z } from "zod";
import { identifier } from "../../identifiers.ts";

const Figures = z.object({
  count: z.number().int().nonnegative(),
  /** Per unit of `per` (per span when per is null). */
  mean: z.number(),
});

/** A cost_regression group's figures, as SPEC.md names them (extra fields are additive). */
export const RegressionSchema = z.object({
  operation: z.string(),
  metric: z.string(),
  per: z.string().nullable(),
  baseline: Figures.extend({ commitSha: identifier(z.string()) }),
  current: Figures,
  ratio: z.number(),
  tenants: z.object({
    affected: z.number().int().nonnegative(),
    total: z.number().int().nonnegative(),
    worst: z.array(z.object({ id: z.string(), ratio: z.number() })),
    /** Before/after per unit for every tenant seen on both sides, worst first. */
    rows: z.array(
      z.object({
        id: z.string(),
        before: z.number(),
        after: z.number(),
        ratio: z.number(),
        countBefore: z.number().int(),
        countAfter: z.number().int(),
      }),
    ),
    /** Tenants seen only after the change (no baseline to compare with). */
    new: z.number().int().nonnegative(),
  }),
  extraCostUsdPerDay: z.number().nullable(),
  test: z.object({
    name: z.string(),
    alpha: z.number(),
    pValue: z.number(),
    t: z.number(),
    df: z.number(),
    cells: z.object({ before: z.number().int(), after: z.number().int() }),
    geometricRatio: z.number(),
    drift: z.object({ perDay: z.number(), adjusted: z.literal(true) }).nullable(),
  }),
  /** Other metrics of the same operation and commit that regressed with it. */
  alsoRegressed: z.array(z.object({ metric: z.string(), per: z.string().nullable(), ratio: z.number() })),
  /** Where the operation's spans say they run (code.filepath / code.function). */
  code: z.object({ path: z.string(), function: z.string() }),
});

export type Regression = z.infer<typeof RegressionSchema>;

/** Run-level outcome of the cost check: what was compared, and what could not be. */
export const CostCheckSchema = z.object({
  enabled: z.boolean(),
  metrics: z.array(z.object({ name: z.string(), per: z.string().nullable() })),
  test: z.object({ name: z.string(), alpha: z.number(), minRatio: z.number() }),
  lookbackDays: z.number(),
  comparisons: z.number().int().nonnegative(),
  flagged: z.number().int().nonnegative(),
  /** Reason → how many commits or cells were left out for it. */
  skipped: z.record(z.string(), z.number().int()),
  /** Sources that could not answer for a metric: the check is blind there, not clean. */
  failed: z.array(z.object({ source: z.string(), metric: z.string(), message: z.string() })),
  /** Partial answers: truncated series, a lookback cut to the backend's retention. */
  partial: z.array(z.object({ source: z.string(), metric: z.string(), message: z.string() })).default([]),
  requests: z.number().int().nonnegative(),
});

export type CostCheck = z.infer<typeof CostCheckSchema>;
