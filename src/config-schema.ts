import { z } from "zod";

/** The shapes config.ts validates: triage.config.json and the environment. Reading stays in config.ts. */
export const DEFAULT_MODEL = "claude-sonnet-5-5";

export const ConfigFileSchema = z
  .object({
    services: z
      .record(
        z.string(),
        z.object({ repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'expected "owner/repo"') }).strict(),
      )
      .default({}),
    limit: z.number().int().min(1).max(1000).optional(),
    concurrency: z.number().int().min(1).max(64).optional(),
    traceLinkTemplate: z.string().includes("{traceId}", { message: "must contain {traceId}" }).optional(),
    telemetry: z
      .object({
        timeoutMs: z.number().int().min(100).max(600_000).optional(),
        retries: z.number().int().min(0).max(10).optional(),
        maxRetryDelayMs: z.number().int().min(0).max(300_000).optional(),
        sampleGroups: z.number().int().min(0).max(1000).optional(),
      })
      .strict()
      .optional(),
    evidence: z
      .object({ diffTokenBudget: z.number().int().min(500).max(200_000).optional() })
      .strict()
      .optional(),
    actions: z
      .object({
        minConfidence: z.number().min(0).max(1).optional(),
        maxFiles: z.number().int().min(1).max(50).optional(),
        maxChangedLines: z.number().int().min(1).max(5_000).optional(),
        denyPaths: z.array(z.string().min(1)).optional(),
        allowPathsOutsideDiff: z.boolean().optional(),
        issueType: z.string().min(1).optional(),
        labels: z.array(z.string().regex(/^[\w.:-]+$/, "labels are single words")).optional(),
        /** Waits (ms) before each look for a ticket, comment or PR whose write reply was lost. */
        confirmLooksMs: z.array(z.number().int().min(0).max(30_000)).min(1).max(10).optional(),
      })
      .strict()
      .optional(),
    github: z
      .object({
        /** Octokit's write spacing (1 s between writes, 3 s between PRs); only tests against a local fake turn it off. */
        throttle: z.boolean().optional(),
      })
      .strict()
      .optional(),
    agents: z
      .object({
        enabled: z.boolean().optional(),
        /** Denials of one tool in one repository in the window that make a cluster worth a ticket. */
        minDenials: z.number().int().min(1).max(10_000).optional(),
        minFailures: z.number().int().min(1).max(10_000).optional(),
        /** How many times its earlier failure rate a tool must fail at to be flagged. */
        failureRatio: z.number().min(1.1).max(100).optional(),
        /** How many times the repository's median session a runaway session must reach. */
        runawayFactor: z.number().min(1.5).max(1000).optional(),
        minHistorySessions: z.number().int().min(2).max(10_000).optional(),
        alpha: z.number().gt(0).max(0.2).optional(),
        lookbackDays: z.number().min(1).max(30).optional(),
      })
      .strict()
      .optional(),
    regressions: z
      .object({
        enabled: z.boolean().optional(),
        metrics: z
          .array(
            z
              .object({
                name: z.string().min(1),
                /** Unit of work to divide by; null compares per span. Default billing.record_count. */
                per: z.string().min(1).nullable().optional(),
                /** The metric is money in USD (Athena's query cost): gives the extra cost per day. */
                usd: z.boolean().optional(),
              })
              .strict(),
          )
          .min(1)
          .max(20)
          .optional(),
        minRatio: z.number().min(1.01).max(100).optional(),
        alpha: z.number().gt(0).max(0.2).optional(),
        lookbackDays: z.number().min(1).max(30).optional(),
        tenantKey: z.string().min(1).optional(),
        stepMinutes: z.number().int().min(1).max(1440).optional(),
      })
      .strict()
      .optional(),
    analysis: z
      .object({
        maxInputTokens: z.number().int().min(2_000).max(1_000_000).optional(),
        maxOutputTokens: z.number().int().min(256).max(64_000).optional(),
        maxCostUsd: z.number().positive().optional(),
        maxCalls: z.number().int().min(0).max(10_000).optional(),
        timeoutMs: z.number().int().min(1_000).max(1_800_000).optional(),
        retries: z.number().int().min(0).max(10).optional(),
        cacheWarmup: z.boolean().optional(),
        maxConcurrency: z.number().int().min(1).max(256).optional(),
        maxRateLimitWaitMs: z.number().int().min(1_000).max(3_600_000).optional(),
        batch: z.boolean().optional(),
        batchMaxWaitMs: z.number().int().min(10_000).max(86_400_000).optional(),
        pricing: z
          .object({ inputPerMTok: z.number().nonnegative(), outputPerMTok: z.number().nonnegative() })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const url = z.url({ protocol: /^https?$/, message: "expected an http(s) URL" });
export const EnvSchema = z.object({
  SIGNOZ_URL: url.optional(),
  SIGNOZ_API_KEY: z.string().min(1).optional(),
  HONEYCOMB_API_KEY: z.string().min(1).optional(),
  HONEYCOMB_API_URL: url.default("https://api.honeycomb.io"),
  HONEYCOMB_DATASET: z.string().min(1).optional(),
  GITHUB_TOKEN: z.string().min(1).optional(),
  GITHUB_API_URL: url.default("https://api.github.com"),
  GITHUB_REPOSITORY: z
    .string()
    .regex(/^[\w.-]+\/[\w.-]+$/, 'expected "owner/repo"')
    .optional(),
  JIRA_BASE_URL: url.optional(),
  JIRA_USER: z.string().min(1).optional(),
  JIRA_API_TOKEN: z.string().min(1).optional(),
  JIRA_PROJECT: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]+$/, "expected a project key such as OPS")
    .optional(),
  JIRA_ACCEPTANCE_FIELD: z.string().min(1).optional(),
  JIRA_SCHEMA_MISMATCH: z.enum(["warn", "throw", "silent"]).default("warn"),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: url.optional(),
  TRIAGE_MODEL: z.string().min(1).default(DEFAULT_MODEL),
  GITHUB_STEP_SUMMARY: z.string().min(1).optional(),
});

export type Env = z.infer<typeof EnvSchema>;
