import pLimit from "p-limit";
import type { ActionResult, ActionSink } from "./actions/action.ts";
import { DryRunSink } from "./actions/dry-run.ts";
import type { Analysis, Analyst } from "./analysis/analysis.ts";
import { OfflineAnalyst } from "./analysis/offline.ts";
import type { RunConfig } from "./config.ts";
import { createEvidenceGatherer, type Evidence } from "./evidence/gather.ts";
import { GroupCollector } from "./grouping/collector.ts";
import { FINGERPRINT_VERSION } from "./grouping/fingerprint.ts";
import { type RankedGroup, rankGroups } from "./grouping/rank.ts";
import type { Progress } from "./progress.ts";
import { REPORT_VERSION, type Report, type ReportGroup } from "./report/schema.ts";
import { createSources } from "./telemetry/factory.ts";
import type { SourceStats, TelemetrySource } from "./telemetry/source.ts";

// Evidence is local git today; the real bound comes with the GitHub and model clients.
const GROUP_CONCURRENCY = 4;

export interface TriageResult {
  report: Report;
  exitCode: 0 | 1;
}

/**
 * query → group → evidence → analyse → act → report. Each group runs in isolation: its failure
 * is recorded on the group and the others carry on; every group ends in a definite state.
 */
export async function runTriage(
  config: RunConfig,
  progress: Progress,
  now: () => Date = () => new Date(),
): Promise<TriageResult> {
  const sources = createSources(config);
  await Promise.all(sources.map((source) => source.preflight()));

  // Sources run concurrently into one collector; groups with the same fingerprint merge.
  const collector = new GroupCollector();
  const outcomes = await Promise.all(
    sources.map((source) => collectFrom(source, config, collector, progress)),
  );
  const sourceStats = outcomes.map((o) => o.stats);
  const sourceFailed = outcomes.some((o) => o.failed);

  const all = collector.groups();
  const ranked = rankGroups(all, config.window, (sha) => collector.firstSeenOfCommit(sha)).slice(
    0,
    config.limit,
  );
  progress.info(`${all.length} group(s) found; analysing the top ${ranked.length}`);

  const gather = createEvidenceGatherer({ repoDir: config.repoDir });
  const analyst = createAnalyst(config, progress);
  const sink = createSink(config);
  const limit = pLimit(GROUP_CONCURRENCY);
  let done = 0;
  const groups = await Promise.all(
    ranked.map((group) =>
      limit(async () => {
        const result = await triageGroup(group, { gather, analyst, sink, config });
        done += 1;
        progress.info(
          `[${done}/${ranked.length}] #${group.rank} ${group.service} ${group.slug}: ${outcomeOf(result)}`,
        );
        return result;
      }),
    ),
  );

  const report = buildReport(config, now(), sourceStats, all.length, groups);
  const failed = sourceFailed || groups.some((g) => g.error || g.actions.some((a) => a.status === "failed"));
  return { report, exitCode: failed ? 1 : 0 };
}

async function collectFrom(
  source: TelemetrySource,
  config: RunConfig,
  collector: GroupCollector,
  progress: Progress,
): Promise<{ stats: SourceStats; failed: boolean }> {
  progress.info(`querying ${source.name} for ${iso(config.window.sinceMs)} → ${iso(config.window.untilMs)}`);
  try {
    const stats = await source.collect(config.window, collector);
    const detail = source.name === "file" ? `of ${stats.spansRead} read` : `in ${stats.requests} request(s)`;
    progress.info(`${source.name}: ${stats.spansMatched} matching spans ${detail}`);
    for (const problem of stats.problems) {
      progress.warn(`${source.name}${problem.line ? ` line ${problem.line}` : ""}: ${problem.message}`);
    }
    return { stats, failed: false };
  } catch (error) {
    progress.warn(`${source.name} failed: ${messageOf(error)}`);
    const stats: SourceStats = {
      source: source.name,
      spansRead: 0,
      spansMatched: 0,
      skippedLines: 0,
      requests: 0,
      problems: [{ message: messageOf(error) }],
    };
    return { stats, failed: true };
  }
}

interface GroupDeps {
  gather: (group: RankedGroup) => Promise<Evidence>;
  analyst: Analyst;
  sink: ActionSink;
  config: RunConfig;
}

async function triageGroup(group: RankedGroup, deps: GroupDeps): Promise<ReportGroup> {
  const traceLinks = traceLinksFor(group, deps.config.traceLinkTemplate);
  let evidence: Evidence | null = null;
  let analysis: Analysis | null = null;
  let actions: ActionResult[] = [];
  let error: string | undefined;
  try {
    evidence = await deps.gather(group);
    analysis = await deps.analyst.analyse(group, evidence);
    actions = await deps.sink.act({ group, analysis, evidence, traceLinks });
  } catch (caught) {
    error = messageOf(caught);
    if (actions.length === 0) {
      const stage = !evidence ? "evidence" : !analysis ? "analysis" : "actions";
      actions = [
        { kind: "incident", status: "failed", reason: `${stage} failed` },
        { kind: "pull_request", status: "skipped", reason: `${stage} failed` },
      ];
    }
  }
  return {
    rank: group.rank,
    fingerprint: group.fingerprint,
    slug: group.slug,
    title: group.title,
    kind: group.kind,
    service: group.service,
    commitSha: group.commitSha,
    issueKey: group.issueKey,
    environment: group.environment,
    count: group.count,
    firstSeen: iso(group.firstSeenMs),
    lastSeen: iso(group.lastSeenMs),
    score: group.score,
    newCommit: group.newCommit,
    grouping: group.grouping,
    sampleTraceIds: group.samples.map((s) => s.traceId),
    links: { traces: traceLinks },
    commit: evidence?.commit
      ? {
          subject: evidence.commit.subject,
          author: evidence.commit.author,
          authoredAt: evidence.commit.authoredAt,
        }
      : null,
    diffUnavailable: evidence?.diffUnavailable ?? null,
    suspects: evidence?.suspects ?? [],
    analysis,
    actions,
    ...(error ? { error } : {}),
  };
}

function createAnalyst(config: RunConfig, progress: Progress): Analyst {
  if (config.anthropic) {
    progress.warn("ANTHROPIC_API_KEY is set, but this version only has the offline analyst; using it");
  }
  return new OfflineAnalyst();
}

function createSink(config: RunConfig): ActionSink {
  return new DryRunSink(
    config.outDir,
    config.dryRunReason ?? "GitHub and Jira sinks are not in this version yet",
  );
}

function buildReport(
  config: RunConfig,
  generatedAt: Date,
  sourceStats: SourceStats[],
  groupsFound: number,
  groups: ReportGroup[],
): Report {
  const sum = (pick: (s: SourceStats) => number) => sourceStats.reduce((n, s) => n + pick(s), 0);
  return {
    version: REPORT_VERSION,
    generatedAt: generatedAt.toISOString(),
    window: { since: iso(config.window.sinceMs), until: iso(config.window.untilMs) },
    sources: sourceStats.map((s) => s.source),
    // Only the dry-run sink exists in this version, so every run is one whatever the flags say.
    dryRun: true,
    fingerprintVersion: FINGERPRINT_VERSION,
    totals: {
      spansRead: sum((s) => s.spansRead),
      spansMatched: sum((s) => s.spansMatched),
      skippedLines: sum((s) => s.skippedLines),
      groupsFound,
      groups: groups.length,
      groupsAnalysed: groups.filter((g) => g.analysis !== null).length,
      groupsFailed: groups.filter((g) => g.error !== undefined).length,
    },
    usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, costUsd: 0 },
    sourceStats: sourceStats.map((s) => ({ ...s })),
    groups,
  };
}

/** The backends' own deep links when they gave any, else the configured template, else none. */
function traceLinksFor(group: RankedGroup, template: string | null): string[] {
  if (group.traceLinks.length > 0) return group.traceLinks;
  if (!template) return [];
  return group.samples
    .filter((s) => s.traceId)
    .map((s) => template.replaceAll("{traceId}", encodeURIComponent(s.traceId)));
}

function outcomeOf(group: ReportGroup): string {
  if (group.error) return `failed (${group.error})`;
  const confidence = group.analysis ? `confidence ${group.analysis.confidence}` : "no analysis";
  return `${group.count}×, ${group.analysis?.category ?? "?"}, ${confidence}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
