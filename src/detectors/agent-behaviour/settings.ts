import type { z } from "zod";
import type { ConfigFileSchema } from "../../config-schema.ts";

export interface AgentSettings {
  enabled: boolean;
  minDenials: number;
  minFailures: number;
  failureRatio: number;
  runawayFactor: number;
  minHistorySessions: number;
  alpha: number;
  lookbackMs: number;
}

type FileSettings = z.infer<typeof ConfigFileSchema>["agents"];

export function agentSettings(file: FileSettings): AgentSettings {
  return {
    enabled: file?.enabled ?? true,
    minDenials: file?.minDenials ?? 3,
    minFailures: file?.minFailures ?? 5,
    failureRatio: file?.failureRatio ?? 2,
    runawayFactor: file?.runawayFactor ?? 4,
    minHistorySessions: file?.minHistorySessions ?? 5,
    alpha: file?.alpha ?? 0.001,
    lookbackMs: (file?.lookbackDays ?? 7) * 86_400_000,
  };
}
