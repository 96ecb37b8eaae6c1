import { z } from "zod";
import { AnalysisSchema } from "../analysis/analysis.ts";
import { AgentUsageSchema, BehaviourSchema } from "../detectors/agent-behaviour/behaviour.ts";
import { AgentSessionLinkSchema } from "../detectors/agent-behaviour/linkage.ts";
import { CostCheckSchema, RegressionSchema } from "../detectors/cost-regression/regression.ts";
import { identifier } from "../identifiers.ts";

/** report.json, version 1. Scripts depend on it: changes are additive only. */
export const REPORT_VERSION = 1;

const ActionSchema = z.object({
  kind: z.enum(["pull_request", "incident"]),
  status: z.enum(["created", "updated", "skipped", "dry_run", "failed"]),
  url: identifier(z.string()).optional(),
  path: identifier(z.string()).optional(),
  reason: z.string().optional(),
});

const SuspectSchema = z.object({
  commitSha: identifier(z.string()),
  path: identifier(z.string()),
  line: z.number().int().optional(),
  score: z.number(),
  reason: z.string(),
});

export const ReportGroupSchema = z.object({
  rank: z.number().int().positive(),
  fingerprint: identifier(z.string()),
  slug: z.string(),
  title: z.string(),
  kind: z.enum(["exception", "agent_stop_failure", "cost_regression", "agent_behaviour"]),
  service: z.string(),
  commitSha: identifier(z.string()).nullable(),
  issueKey: identifier(z.string()).nullable(),
  environment: z.string().nullable(),
  count: z.number().int().nonnegative(),
  firstSeen: z.iso.datetime(),
  lastSeen: z.iso.datetime(),
  score: z.number(),
  newCommit: z.boolean(),
  grouping: z.object({
    version: z.number().int(),
    basis: z.enum(["exception.slug", "derived", "agent_stop_reason", "metric_step", "agent_signal"]),
    exceptionType: z.string().nullable(),
    frame: z.string().nullable(),
    message: z.string(),
  }),
  sampleTraceIds: z.array(identifier(z.string())),
  links: z.object({ traces: z.array(identifier(z.string())) }),
  commit: z.object({ subject: z.string(), author: z.string(), authoredAt: z.string() }).nullable(),
  diffUnavailable: z.string().nullable(),
  repository: identifier(z.string()).nullable(),
  repositorySource: z.enum(["config", "span", "env"]).nullable(),
  diffNotes: z.array(z.string()),
  /** What the analyst's trimmed diff left out. */
  diffOmitted: z.array(z.string()),
  pullRequest: z
    .object({
      number: z.number().int(),
      title: z.string(),
      url: identifier(z.string()),
      branch: identifier(z.string()),
      author: z.string().nullable(),
      mergedAt: z.string().nullable(),
    })
    .nullable(),
  workItem: z
    .object({
      key: identifier(z.string()),
      url: identifier(z.string()),
      summary: z.string(),
      status: z.string(),
      criteriaSource: z.enum(["field", "description", "none"]),
      acceptanceCriteria: z.string(),
      agentNotes: z.array(z.string()),
    })
    .nullable(),
  /** Evidence that could not be gathered (unresolved repository, Jira 404/403, PR lookup failures). */
  evidenceProblems: z.array(z.string()),
  suspects: z.array(SuspectSchema),
  analysis: AnalysisSchema.nullable(),
  actions: z.array(ActionSchema),
  error: z.string().optional(),
  /** Set when the group was not analysed on purpose (the run's model budget ran out). */
  skipped: z.string().optional(),
  /**
   * The same error (service and slug) seen on an earlier commit in the data read: it predates
   * this deploy, which is evidence against a code cause in this commit.
   */
  alsoOnEarlierCommit: z
    .object({ commitSha: identifier(z.string()), count: z.number().int().nonnegative() })
    .nullable()
    .optional(),
  /** cost_regression groups: the before/after figures and the test that flagged them. */
  regression: RegressionSchema.optional(),
  /** agent_behaviour groups: the signal, its figures and the proposed guardrail. */
  behaviour: BehaviourSchema.optional(),
  /** The coding-agent sessions that produced the group's commit (SPEC), with the link used. */
  agentSessions: z.array(AgentSessionLinkSchema).default([]),
  /** Commits of the deploy range whose lines the failing stack runs through (blame), best first. */
  suspectCommits: z
    .array(
      z.object({
        sha: identifier(z.string()),
        score: z.number(),
        reason: z.string(),
        subject: z.string(),
        issueKey: identifier(z.string()).nullable(),
        pr: z
          .object({ number: z.number().int(), url: identifier(z.string()) })
          .nullable()
          .default(null),
      }),
    )
    .default([]),
  /** Set when the evidence is an earlier commit of the deploy's, not the running commit's. */
  introducedBy: z
    .object({ runningSha: identifier(z.string()), sha: identifier(z.string()), range: z.string() })
    .nullable()
    .default(null),
});

export const PaceSchema = z.object({
  ceiling: z.number().int().positive(),
  calls: z.number().int().nonnegative(),
  throttled: z.number().int().nonnegative(),
  waitedMs: z.number().nonnegative(),
  peakInFlight: z.number().int().nonnegative(),
  announced: z.object({
    requests: z.number().nullable(),
    inputTokens: z.number().nullable(),
    outputTokens: z.number().nullable(),
  }),
});
export type PaceSummary = z.infer<typeof PaceSchema>;

export const BatchSchema = z.object({
  id: z.string().nullable(),
  status: z.enum(["ended", "timed_out", "failed", "not_needed"]),
  submitted: z.number().int().nonnegative(),
  byBatch: z.number().int().nonnegative(),
  bySync: z.number().int().nonnegative(),
  waitedMs: z.number().nonnegative(),
  savedUsd: z.number().nonnegative(),
  reason: z.string().nullable(),
});

const UsageSchema = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cacheReadTokens: z.number().int().nonnegative(),
  cacheCreationTokens: z.number().int().nonnegative(),
  costUsd: z.number().nonnegative(),
});

export const ReportSchema = z.object({
  version: z.literal(REPORT_VERSION),
  generatedAt: z.iso.datetime(),
  window: z.object({ since: z.iso.datetime(), until: z.iso.datetime() }),
  sources: z.array(z.enum(["file", "signoz", "honeycomb"])),
  dryRun: z.boolean(),
  fingerprintVersion: z.number().int(),
  totals: z.object({
    spansRead: z.number().int().nonnegative(),
    spansMatched: z.number().int().nonnegative(),
    skippedLines: z.number().int().nonnegative(),
    groupsFound: z.number().int().nonnegative(),
    groups: z.number().int().nonnegative(),
    groupsAnalysed: z.number().int().nonnegative(),
    groupsFailed: z.number().int().nonnegative(),
  }),
  usage: UsageSchema,
  analyst: z.object({
    name: z.enum(["claude", "offline"]),
    model: z.string().nullable(),
    calls: z.number().int().nonnegative(),
    promptVersions: z.array(z.string()),
    /** How model calls were paced: the ceiling, the most in flight, throttled answers, waiting. */
    pace: PaceSchema.optional(),
    /** --batch: the Message Batch, which groups it answered, which went by Messages, what it saved. */
    batch: BatchSchema.optional(),
  }),
  /** Secrets and PII replaced by [REDACTED:kind] before anything left the process. */
  redactions: z.object({
    total: z.number().int().nonnegative(),
    byKind: z.record(z.string(), z.number().int()),
  }),
  sourceStats: z.array(
    z.object({
      source: z.enum(["file", "signoz", "honeycomb"]),
      spansRead: z.number().int().nonnegative(),
      spansMatched: z.number().int().nonnegative(),
      skippedLines: z.number().int().nonnegative(),
      requests: z.number().int().nonnegative(),
      problems: z.array(z.object({ line: z.number().int().optional(), message: z.string() })),
      queryLinks: z.array(z.string()).optional(),
      location: z.string().optional(),
      failed: z.object({ message: z.string(), check: z.string() }).optional(),
      notTraceLines: z.number().int().nonnegative().optional(),
      spansOutsideWindow: z.number().int().nonnegative().optional(),
      timeRange: z.object({ first: z.string(), last: z.string() }).optional(),
    }),
  ),
  /**
   * What the run could not see, at run level: failed sources, input that held no usable spans,
   * evidence that was missing for every group, unreachable hosts. Empty when the run saw all.
   */
  warnings: z.array(z.object({ code: z.string(), message: z.string() })).default([]),
  /** Groups past --limit: found and ranked, not analysed. Nothing is hidden by the cut. */
  alsoSeen: z
    .array(
      z.object({
        rank: z.number().int().positive(),
        fingerprint: identifier(z.string()),
        service: z.string(),
        slug: z.string(),
        count: z.number().int().nonnegative(),
        commitSha: identifier(z.string()).nullable(),
        newCommit: z.boolean(),
      }),
    )
    .default([]),
  /** The cost-regression check: what it compared, what it flagged, what it could not read. */
  costCheck: CostCheckSchema.optional(),
  /** The coding agents' usage in the window (sessions, tools, denials, tokens, cache hits). */
  agentUsage: AgentUsageSchema.optional(),
  groups: z.array(ReportGroupSchema),
});

export type Report = z.infer<typeof ReportSchema>;
export type ReportGroup = z.infer<typeof ReportGroupSchema>;
export type ReportAction = z.infer<typeof ActionSchema>;
