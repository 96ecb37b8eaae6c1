import type { z } from "zod";
import type { ConfigFileSchema } from "../../config-schema.ts";

export interface RegressionMetric {
  /** A numeric span attribute, or "duration" for the span's own duration in milliseconds. */
  name: string;
  /** The unit of work to divide by (per record, per row); null compares per span. */
  per: string | null;
  /** The metric is money in USD: its comparison gives the extra cost per day. */
  usd: boolean;
}

export interface RegressionSettings {
  enabled: boolean;
  metrics: RegressionMetric[];
  /** Smallest per-unit change worth a ticket, e.g. 1.3 for +30 %. */
  minRatio: number;
  /** One-sided significance level of the per-comparison test. */
  alpha: number;
  /** How far before the window to look for the commit each operation ran before. */
  lookbackMs: number;
  tenantKey: string;
  /** Width of the time buckets the backends aggregate into: each tenant × bucket is one observation. */
  stepMs: number;
}

export const DURATION_METRIC = "duration";
const DEFAULT_PER = "billing.record_count";
const DEFAULT_METRICS = [
  { name: "s3.bytes_scanned" },
  { name: "athena.query_cost", usd: true },
  { name: DURATION_METRIC },
] as const;

type FileSettings = z.infer<typeof ConfigFileSchema>["regressions"];

export function regressionSettings(file: FileSettings): RegressionSettings {
  return {
    enabled: file?.enabled ?? true,
    metrics: (file?.metrics ?? DEFAULT_METRICS).map((m) => ({
      name: m.name,
      per: "per" in m && m.per !== undefined ? m.per : DEFAULT_PER,
      usd: ("usd" in m && m.usd) ?? false,
    })),
    minRatio: file?.minRatio ?? 1.3,
    alpha: file?.alpha ?? 0.001,
    lookbackMs: (file?.lookbackDays ?? 7) * 86_400_000,
    tenantKey: file?.tenantKey ?? "tenant.id",
    stepMs: (file?.stepMinutes ?? 60) * 60_000,
  };
}
