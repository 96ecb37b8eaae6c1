import { z } from "zod";
import type { Evidence } from "../evidence/gather.ts";
import type { RankedGroup } from "../grouping/rank.ts";

export const CATEGORIES = [
  "code_regression",
  "config",
  "dependency",
  "infrastructure",
  "data",
  "agent_behaviour",
  "unknown",
] as const;

export const AnalysisSchema = z.object({
  analyst: z.enum(["claude", "offline"]),
  model: z.string().optional(),
  summary: z.string(),
  rootCause: z.string(),
  confidence: z.number().min(0).max(1),
  category: z.enum(CATEGORIES),
  /** The change and place judged responsible; null means no code cause was found in this commit. */
  suspect: z
    .object({ commitSha: z.string(), path: z.string(), line: z.number().int().optional(), why: z.string() })
    .nullable(),
  violatedCriteria: z.array(z.string()),
  evidence: z.array(z.string()),
  investigationSteps: z.array(z.string()),
  fix: z.object({ rationale: z.string(), patch: z.string() }).nullable(),
});

export type Analysis = z.infer<typeof AnalysisSchema>;

export interface Analyst {
  readonly name: Analysis["analyst"];
  analyse(group: RankedGroup, evidence: Evidence): Promise<Analysis>;
}
