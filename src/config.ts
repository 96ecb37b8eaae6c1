import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { z } from "zod";
import { existingDir, writableDir } from "./config-paths.ts";
import { ConfigFileSchema, type Env, EnvSchema } from "./config-schema.ts";
import { chooseSources, honeycombSpec, signozSpec } from "./config-sources.ts";
import { type AgentSettings, agentSettings } from "./detectors/agent-behaviour/settings.ts";
import { type RegressionSettings, regressionSettings } from "./detectors/cost-regression/settings.ts";
import { nearestName } from "./nearest-name.ts";
import type { TimeWindow } from "./telemetry/source.ts";
import { UsageError } from "./usage-error.ts";
import { parseWindow } from "./window.ts";

/** Flags as parsed by the CLI, still strings: validation happens here, once. */
export interface CliOptions {
  since?: string | undefined;
  until?: string | undefined;
  source?: string | undefined;
  input?: string | undefined;
  limit?: string | undefined;
  dryRun?: boolean | undefined;
  out?: string | undefined;
  json?: boolean | undefined;
  config?: string | undefined;
  repoDir?: string | undefined;
  verbose?: boolean | undefined;
  maxCost?: string | undefined;
  batch?: boolean | undefined;
}

export type SourceSpec =
  | { kind: "file"; path: string }
  | { kind: "signoz"; url: string; apiKey: string }
  | { kind: "honeycomb"; apiUrl: string; apiKey: string; dataset: string };

export interface RunConfig {
  window: TimeWindow;
  sources: SourceSpec[];
  limit: number;
  /** Groups in flight at once (evidence, model call, actions). */
  concurrency: number;
  /** Null when actions may be sent; otherwise why this run only writes files. */
  dryRunReason: string | null;
  outDir: string;
  json: boolean;
  verbose: boolean;
  repoDir: string | null;
  services: Record<string, { repo: string }>;
  traceLinkTemplate: string | null;
  /** Timeouts, retries and sampling for the SigNoz and Honeycomb clients. */
  telemetry: { timeoutMs: number; retries: number; maxRetryDelayMs: number; sampleGroups: number };
  stepSummaryPath: string | null;
  github: { token: string; apiUrl: string; repository: string | null } | null;
  jira: {
    baseUrl: string;
    user: string;
    apiToken: string;
    project: string;
    acceptanceField: string | null;
    /** What jira.js does when a response does not match Jira's schema (tests use "throw"). */
    onSchemaMismatch: "warn" | "throw" | "silent";
  } | null;
  anthropic: { apiKey: string; baseUrl: string | null; model: string } | null;
  /** Token budget for the diff handed to the analyst. */
  diffTokenBudget: number;
  actions: {
    gate: {
      minConfidence: number;
      maxFiles: number;
      maxChangedLines: number;
      denyPaths: string[];
      allowPathsOutsideDiff: boolean;
    };
    issueType: string;
    labels: string[];
    confirmLooksMs: number[];
  };
  githubThrottle: boolean;
  regressions: RegressionSettings;
  agents: AgentSettings;
  analysis: {
    maxInputTokens: number;
    maxOutputTokens: number;
    maxCostUsd: number | null;
    maxCalls: number;
    timeoutMs: number;
    retries: number;
    cacheWarmup: boolean;
    /** Model calls in flight at most; the provider's announced limits set the pace below it. */
    maxConcurrency: number;
    /** The longest a call waits for the rate limits to allow it before its group fails. */
    maxRateLimitWaitMs: number;
    /** Send the night's model requests as one Message Batch (half price, slower). */
    batch: boolean;
    /** How long to wait for the batch before the rest goes through the Messages API. */
    batchMaxWaitMs: number;
    pricing: { inputPerMTok: number; outputPerMTok: number } | null;
  };
}

export const DEFAULT_LIMIT = 20;
export const DEFAULT_OUT_DIR = "triage-out";
export const DEFAULT_DIFF_TOKEN_BUDGET = 12_000;
const CONFIG_FILE = "triage.config.json";

/** What `triage doctor` checks: every service the environment configures, and none it does not. */
export interface ServiceSettings {
  signoz: { url: string; apiKey: string } | null;
  honeycomb: { apiUrl: string; apiKey: string; dataset: string } | null;
  github: RunConfig["github"];
  jira: RunConfig["jira"];
  anthropic: RunConfig["anthropic"];
  timeoutMs: number;
  services: RunConfig["services"];
}

export function loadServiceSettings(
  env: NodeJS.ProcessEnv,
  cwd: string,
  configPath?: string,
): ServiceSettings {
  const parsedEnv = parseEnv(env);
  const file = readConfigFile(configPath, cwd);
  return {
    signoz: signozSpec(parsedEnv, false),
    honeycomb: honeycombSpec(parsedEnv, false),
    github: githubConfig(parsedEnv),
    jira: jiraConfig(parsedEnv),
    anthropic: anthropicConfig(parsedEnv),
    timeoutMs: file.telemetry?.timeoutMs ?? 30_000,
    services: file.services,
  };
}

/**
 * The only reader of the environment and of triage.config.json. Every problem becomes a
 * UsageError naming the flag, variable or field and what would fix it.
 */
export function loadConfig(options: CliOptions, env: NodeJS.ProcessEnv, cwd: string, now: Date): RunConfig {
  const parsedEnv = parseEnv(env);
  const file = readConfigFile(options.config, cwd);
  const window = parseWindow(options.since ?? "24h", options.until ?? "now", now);
  const limit = options.limit === undefined ? (file.limit ?? DEFAULT_LIMIT) : parseLimit(options.limit);
  const github = githubConfig(parsedEnv);
  const jira = jiraConfig(parsedEnv);
  return {
    window,
    sources: chooseSources(options, parsedEnv, cwd),
    limit,
    concurrency: file.concurrency ?? 4,
    dryRunReason: dryRunReason(options.dryRun === true, github !== null, jira !== null),
    outDir: writableDir("--out", resolve(cwd, options.out ?? DEFAULT_OUT_DIR)),
    json: options.json === true,
    verbose: options.verbose === true,
    repoDir: options.repoDir ? existingDir("--repo-dir", resolve(cwd, options.repoDir)) : null,
    services: file.services,
    traceLinkTemplate: file.traceLinkTemplate ?? null,
    telemetry: {
      timeoutMs: file.telemetry?.timeoutMs ?? 30_000,
      retries: file.telemetry?.retries ?? 3,
      maxRetryDelayMs: file.telemetry?.maxRetryDelayMs ?? 60_000,
      // Groups that split into several fingerprints need room, so sample more than the limit.
      sampleGroups: file.telemetry?.sampleGroups ?? Math.min(100, limit * 2),
    },
    diffTokenBudget: file.evidence?.diffTokenBudget ?? DEFAULT_DIFF_TOKEN_BUDGET,
    actions: {
      gate: {
        minConfidence: file.actions?.minConfidence ?? 0.75,
        maxFiles: file.actions?.maxFiles ?? 5,
        maxChangedLines: file.actions?.maxChangedLines ?? 200,
        denyPaths: file.actions?.denyPaths ?? [],
        allowPathsOutsideDiff: file.actions?.allowPathsOutsideDiff ?? false,
      },
      issueType: file.actions?.issueType ?? "Bug",
      labels: file.actions?.labels ?? ["tracefix"],
      // About 4 s of looks in all: Jira's search usually shows a new issue within a second or two.
      confirmLooksMs: file.actions?.confirmLooksMs ?? [300, 1_000, 2_500],
    },
    githubThrottle: file.github?.throttle ?? true,
    regressions: regressionSettings(file.regressions),
    agents: agentSettings(file.agents),
    analysis: {
      maxInputTokens: file.analysis?.maxInputTokens ?? 25_000,
      maxOutputTokens: file.analysis?.maxOutputTokens ?? 4_096,
      maxCostUsd:
        options.maxCost !== undefined ? parseMaxCost(options.maxCost) : (file.analysis?.maxCostUsd ?? null),
      // One call per analysed group at most; the ceiling guards against anything that would loop.
      maxCalls: file.analysis?.maxCalls ?? limit,
      timeoutMs: file.analysis?.timeoutMs ?? 120_000,
      retries: file.analysis?.retries ?? 2,
      cacheWarmup: file.analysis?.cacheWarmup ?? true,
      maxConcurrency: file.analysis?.maxConcurrency ?? 32,
      maxRateLimitWaitMs: file.analysis?.maxRateLimitWaitMs ?? 120_000,
      batch: options.batch === true || (file.analysis?.batch ?? false),
      batchMaxWaitMs: file.analysis?.batchMaxWaitMs ?? 30 * 60_000,
      pricing: file.analysis?.pricing ?? null,
    },
    stepSummaryPath: parsedEnv.GITHUB_STEP_SUMMARY ?? null,
    github,
    jira,
    anthropic: anthropicConfig(parsedEnv),
  };
}

function githubConfig(env: Env): RunConfig["github"] {
  return env.GITHUB_TOKEN
    ? { token: env.GITHUB_TOKEN, apiUrl: env.GITHUB_API_URL, repository: env.GITHUB_REPOSITORY ?? null }
    : null;
}

function anthropicConfig(env: Env): RunConfig["anthropic"] {
  return env.ANTHROPIC_API_KEY
    ? { apiKey: env.ANTHROPIC_API_KEY, baseUrl: env.ANTHROPIC_BASE_URL ?? null, model: env.TRIAGE_MODEL }
    : null;
}

function parseEnv(env: NodeJS.ProcessEnv): Env {
  // An empty variable (common in CI when a secret is unset) means "not set", not "set to empty".
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ""),
  );
  const result = EnvSchema.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new UsageError(
      `environment variable ${String(issue?.path[0] ?? "?")}: ${issue?.message ?? "invalid"}`,
    );
  }
  return result.data;
}

function readConfigFile(explicit: string | undefined, cwd: string): z.infer<typeof ConfigFileSchema> {
  const path = resolve(cwd, explicit ?? CONFIG_FILE);
  if (!existsSync(path)) {
    if (explicit) throw new UsageError(`--config ${explicit}: file not found`);
    return { services: {} };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UsageError(
      `${path}: not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const result = ConfigFileSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.length ? issue.path.join(".") : "(top level)";
    const unknown =
      issue?.code === "unrecognized_keys"
        ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}${suggestField(issue.path, issue.keys[0] ?? "")}`
        : null;
    throw new UsageError(`${path}: ${field}: ${unknown ?? issue?.message ?? "invalid"}`);
  }
  return result.data;
}

function parseMaxCost(value: string): number {
  const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
  if (!(n > 0))
    throw new UsageError(`--max-cost: expected a positive amount in USD such as 2.50, got '${value}'`);
  return n;
}

function parseLimit(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new UsageError(`--limit: expected a whole number from 1 to 1000, got '${value}'`);
  }
  return n;
}

function jiraConfig(env: Env): RunConfig["jira"] {
  if (!env.JIRA_BASE_URL) return null;
  for (const name of ["JIRA_USER", "JIRA_API_TOKEN", "JIRA_PROJECT"] as const) {
    if (!env[name]) throw new UsageError(`JIRA_BASE_URL is set but ${name} is not`);
  }
  return {
    baseUrl: env.JIRA_BASE_URL,
    user: env.JIRA_USER ?? "",
    apiToken: env.JIRA_API_TOKEN ?? "",
    project: env.JIRA_PROJECT ?? "",
    acceptanceField: env.JIRA_ACCEPTANCE_FIELD ?? null,
    onSchemaMismatch: env.JIRA_SCHEMA_MISMATCH,
  };
}

function dryRunReason(requested: boolean, hasGithub: boolean, hasJira: boolean): string | null {
  if (requested) return "--dry-run";
  const missing = [hasGithub ? null : "GITHUB_TOKEN", hasJira ? null : "JIRA_BASE_URL"].filter(Boolean);
  if (missing.length > 0) return `not configured to write (${missing.join(", ")} unset)`;
  return null;
}

/** " (did you mean "limit"?)" for a mistyped config field, from the schema's own field names. */
function suggestField(path: readonly PropertyKey[], typed: string): string {
  let schema: unknown = ConfigFileSchema;
  for (const key of path) {
    const shape = (schema as { shape?: Record<string, unknown> }).shape;
    let next = shape?.[String(key)];
    while (next && typeof (next as { unwrap?: unknown }).unwrap === "function")
      next = (next as { unwrap: () => unknown }).unwrap();
    schema = next;
  }
  const known = Object.keys((schema as { shape?: Record<string, unknown> } | undefined)?.shape ?? {});
  const near = nearestName(typed, known);
  return near ? ` (did you mean "${near}"?)` : "";
}
