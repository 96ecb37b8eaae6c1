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
  /** Which prompt file and version produced this analysis (Claude only). */
  promptVersion: z.string().optional(),
  /** Claude answered through the Message Batches API (at half the price) rather than Messages. */
  via: z.enum(["messages", "batch"]).optional(),
  usage: z
    .object({
      inputTokens: z.number().int().nonnegative(),
      outputTokens: z.number().int().nonnegative(),
      cacheReadTokens: z.number().int().nonnegative(),
      cacheCreationTokens: z.number().int().nonnegative(),
      costUsd: z.number().nonnegative(),
    })
    .optional(),
});

export type Analysis = z.infer<typeof AnalysisSchema>;

/**
 * What the model must answer with (sent as the output format's JSON schema, then validated again
 * here: structured output constrains the shape, not the ranges).
 */
export const ModelAnswerSchema = z.object({
  summary: z.string().min(1),
  rootCause: z.string().min(1),
  category: z.enum(CATEGORIES),
  confidence: z.number().min(0).max(1),
  suspect: z
    .object({ commitSha: z.string(), path: z.string(), line: z.number().int().nullable(), why: z.string() })
    .nullable(),
  violatedCriteria: z.array(z.string()),
  evidence: z.array(z.string()),
  investigationSteps: z.array(z.string()),
  fix: z.object({ rationale: z.string(), patch: z.string() }).nullable(),
});

export type ModelAnswer = z.infer<typeof ModelAnswerSchema>;

export interface Analyst {
  readonly name: Analysis["analyst"];
  analyse(group: RankedGroup, evidence: Evidence): Promise<Analysis>;
  /**
   * For an analyst that answers in bulk (the Message Batches API): called once every group has
   * had its chance to ask, so the queued requests go out together.
   */
  flush?(): Promise<void>;
}
