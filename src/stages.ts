import type { ActionSink } from "./actions/action.ts";
import { DryRunSink } from "./actions/dry-run.ts";
import { LiveSink } from "./actions/live-sink.ts";
import type { Analyst } from "./analysis/analysis.ts";
import { emptyUsage, pricingFor, RunBudget } from "./analysis/budget.ts";
import { OfflineAnalyst } from "./analysis/offline.ts";
import { ModelPace } from "./analysis/pace.ts";
import { type Clients, guardedReader } from "./clients.ts";
import type { RunConfig } from "./config.ts";
import { createEvidenceGatherer } from "./evidence/gather.ts";
import type { Redactor } from "./evidence/redact.ts";
import { githubWebHost } from "./evidence/repository.ts";
import type { RankedGroup } from "./grouping/rank.ts";
import type { AnalystSummary } from "./report/build.ts";

/** Builds the run's evidence gatherer, analyst and action sink from the configuration. */

export async function createEvidence(
  config: RunConfig,
  redactor: Redactor,
  clients: Clients,
  groups: readonly RankedGroup[],
) {
  const { github } = clients;
  const jira =
    clients.jira && config.jira
      ? guardedReader(
          (await import("./evidence/jira.ts")).createJiraReader(
            clients.jira,
            config.jira.baseUrl,
            config.jira.acceptanceField,
            config.telemetry.retries,
          ),
          clients.circuits.jira,
        )
      : null;
  return createEvidenceGatherer({
    repoDir: config.repoDir,
    github,
    jira,
    repositories: {
      services: config.services,
      defaultRepository: config.github?.repository ?? null,
      githubHost: githubWebHost(config.github?.apiUrl ?? "https://api.github.com"),
    },
    redactor,
    diffTokenBudget: config.diffTokenBudget,
    plannedCommits: groups.map((g) => g.commitSha),
  });
}

/** Claude when ANTHROPIC_API_KEY is set, else the offline analyst; one budget for the whole run. */
export async function createAnalyst(
  config: RunConfig,
): Promise<{ analyst: Analyst; summary: () => AnalystSummary }> {
  if (!config.anthropic) {
    return {
      analyst: new OfflineAnalyst(),
      summary: () => ({ name: "offline", model: null, calls: 0, promptVersions: [], usage: emptyUsage() }),
    };
  }
  const { model } = config.anthropic;
  const budget = new RunBudget(
    { maxCostUsd: config.analysis.maxCostUsd, maxCalls: config.analysis.maxCalls },
    config.analysis.pricing ?? pricingFor(model),
  );
  const { ClaudeAnalyst } = await import("./analysis/claude.ts");
  const pace = new ModelPace({
    ceiling: config.analysis.maxConcurrency,
    start: Math.min(4, config.analysis.maxConcurrency),
    maxWaitMs: config.analysis.maxRateLimitWaitMs,
  });
  const claude = new ClaudeAnalyst(
    {
      apiKey: config.anthropic.apiKey,
      baseUrl: config.anthropic.baseUrl,
      model,
      maxOutputTokens: config.analysis.maxOutputTokens,
      inputBudgetTokens: config.analysis.maxInputTokens,
      diffTokenBudget: config.diffTokenBudget,
      timeoutMs: config.analysis.timeoutMs,
      retries: config.analysis.retries,
      cacheWarmup: config.analysis.cacheWarmup,
    },
    budget,
    pace,
  );
  const batch = config.analysis.batch
    ? new (await import("./analysis/batch.ts")).BatchAnalyst(claude, budget, {
        maxWaitMs: config.analysis.batchMaxWaitMs,
        firstPollMs: 2_000,
        maxPollMs: 60_000,
      })
    : null;
  return {
    analyst: batch ?? claude,
    summary: () => ({
      name: "claude",
      model,
      calls: budget.callCount,
      promptVersions: claude.promptVersions,
      usage: budget.usage,
      pace: { ceiling: config.analysis.maxConcurrency, ...pace.stats },
      ...(batch ? { batch: { ...batch.outcome } } : {}),
    }),
  };
}

/** Live writes only when GitHub and Jira are both configured and --dry-run is off. */
export function createSink(
  config: RunConfig,
  redactor: Redactor,
  clients: Clients,
  runId: string,
): ActionSink {
  if (config.dryRunReason || !clients.github || !clients.jira || !config.jira) {
    return new DryRunSink(
      config.outDir,
      config.dryRunReason ?? "GitHub or Jira not configured",
      redactor,
      config.actions.gate,
    );
  }
  return new LiveSink({
    github: clients.github,
    jira: clients.jira,
    incident: {
      project: config.jira.project,
      issueType: config.actions.issueType,
      baseUrl: config.jira.baseUrl,
      runId,
      confirmLooksMs: config.actions.confirmLooksMs,
    },
    confirmLooksMs: config.actions.confirmLooksMs,
    gate: config.actions.gate,
    labels: config.actions.labels,
    redactor,
    jiraCircuit: clients.circuits.jira,
  });
}
