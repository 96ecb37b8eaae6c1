import { z } from "zod";
import { identifier } from "../../identifiers.ts";

/** An agent_behaviour group's figures, as SPEC.md names them (extra fields are additive). */
export const BehaviourSchema = z.object({
  signal: z.enum(["permission_denied", "tool_failures", "runaway_session"]),
  tool: z.string().nullable(),
  repo: z.string().nullable(),
  count: z.number().int().nonnegative(),
  /** The same figure before the window (a failure rate, a median session), when there is one. */
  baseline: z.number().nullable(),
  sessions: z.array(identifier(z.string())),
  /** What was measured, in words: the ticket and the report show it. */
  detail: z.string(),
  /** A guardrail a person could adopt (a CLAUDE.md rule, a permission setting); never applied. */
  guardrail: z.string(),
});

export type Behaviour = z.infer<typeof BehaviourSchema>;

/** The coding agents' week-review figures for the window, computed from aggregates. */
export const AgentUsageSchema = z.object({
  enabled: z.boolean(),
  sessions: z.number().int().nonnegative(),
  /** Sessions whose spans carry no git.repo (an HTTPS remote, no remote): never linked by repository. */
  sessionsWithoutRepo: z.number().int().nonnegative().default(0),
  toolCalls: z.number().int().nonnegative(),
  toolCallsByTool: z.array(
    z.object({ tool: z.string(), calls: z.number().int(), failures: z.number().int() }),
  ),
  /** Read-type calls (Read, Grep, Glob, LS, WebFetch) per write-type call (Edit, Write, MultiEdit, NotebookEdit). */
  readWriteRatio: z.number().nullable(),
  toolErrorRate: z.number().nullable(),
  topDenials: z.array(z.object({ tool: z.string(), repo: z.string(), count: z.number().int() })),
  tokens: z.object({
    input: z.number().nonnegative(),
    output: z.number().nonnegative(),
    cacheRead: z.number().nonnegative(),
    cacheCreation: z.number().nonnegative(),
  }),
  /** Cache reads / all input (fresh, cache reads and cache writes). */
  cacheHitRatio: z.number().nullable(),
  /** Sources that could not answer: the figures are then partial, and say so. */
  failed: z.array(z.object({ source: z.string(), message: z.string() })),
  requests: z.number().int().nonnegative(),
  truncated: z.boolean(),
});

export type AgentUsage = z.infer<typeof AgentUsageSchema>;
