import type { z } from "zod";
import type { ActionResult } from "../actions/action.ts";
import type { Analysis } from "../analysis/analysis.ts";
import type { TokenUsage } from "../analysis/budget.ts";
import type { RunConfig } from "../config.ts";
import type { Evidence } from "../evidence/gather.ts";
import type { RedactionCounts } from "../evidence/redact.ts";
import { FINGERPRINT_VERSION } from "../grouping/fingerprint.ts";
import type { RankedGroup } from "../grouping/rank.ts";
import type { SourceStats } from "../telemetry/source.ts";
import {
  type BatchSchema,
  type PaceSummary,
  REPORT_VERSION,
  type Report,
  type ReportGroup,
} from "./schema.ts";

export interface GroupOutcome {
  group: RankedGroup;
  evidence: Evidence | null;
  analysis: Analysis | null;
  actions: ActionResult[];
  traceLinks: string[];
  error?: string;
  skipped?: string;
}

export interface AnalystSummary {
  name: "claude" | "offline";
  model: string | null;
  calls: number;
  promptVersions: string[];
  usage: TokenUsage;
  /** How the model calls were paced (Claude only). */
  pace?: PaceSummary;
  /** --batch: how the Message Batch went. */
  batch?: z.infer<typeof BatchSchema>;
}

export function toReportGroup({
  group,
  evidence,
  analysis,
  actions,
  traceLinks,
  error,
  skipped,
}: GroupOutcome): ReportGroup {
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
    sampleTraceIds: group.samples.map((s) => s.traceId).filter(Boolean),
    links: { traces: traceLinks },
    commit: evidence?.commit
      ? {
          subject: evidence.commit.subject,
          author: evidence.commit.author,
          authoredAt: evidence.commit.authoredAt,
        }
      : null,
    diffUnavailable: evidence?.diffUnavailable ?? null,
    repository: evidence?.repository ?? null,
    repositorySource: evidence?.repositorySource ?? null,
    diffNotes: evidence?.diffNotes ?? [],
    diffOmitted: evidence?.diffForAnalysis?.omitted ?? [],
    pullRequest: evidence?.pullRequest
      ? {
          number: evidence.pullRequest.number,
          title: evidence.pullRequest.title,
          url: evidence.pullRequest.url,
          branch: evidence.pullRequest.branch,
          author: evidence.pullRequest.author,
          mergedAt: evidence.pullRequest.mergedAt,
        }
      : null,
    workItem: evidence?.workItem ?? null,
    evidenceProblems: evidence?.problems ?? [],
    suspects: evidence?.suspects ?? [],
    agentSessions: evidence?.agentSessions ?? [],
    alsoOnEarlierCommit: evidence?.predates ?? null,
    suspectCommits: evidence?.suspectCommits ?? [],
    introducedBy: evidence?.introducedBy ?? null,
    analysis,
    actions,
    ...(error ? { error } : {}),
    ...(skipped ? { skipped } : {}),
    ...(group.regression ? { regression: group.regression } : {}),
    ...(group.behaviour ? { behaviour: group.behaviour } : {}),
  };
}

export function buildReport(
  config: Pick<RunConfig, "window" | "dryRunReason">,
  generatedAt: Date,
  sourceStats: SourceStats[],
  groupsFound: number,
  groups: ReportGroup[],
  redactions: RedactionCounts,
  analyst: AnalystSummary,
  run: Pick<Report, "warnings" | "alsoSeen" | "costCheck" | "agentUsage"> = { warnings: [], alsoSeen: [] },
): Report {
  const sum = (pick: (s: SourceStats) => number) => sourceStats.reduce((n, s) => n + pick(s), 0);
  return {
    version: REPORT_VERSION,
    generatedAt: generatedAt.toISOString(),
    window: { since: iso(config.window.sinceMs), until: iso(config.window.untilMs) },
    sources: sourceStats.map((s) => s.source),
    dryRun: config.dryRunReason !== null,
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
    usage: analyst.usage,
    analyst: {
      name: analyst.name,
      model: analyst.model,
      calls: analyst.calls,
      promptVersions: analyst.promptVersions,
      ...(analyst.pace ? { pace: analyst.pace } : {}),
      ...(analyst.batch ? { batch: analyst.batch } : {}),
    },
    redactions,
    sourceStats: sourceStats.map((s) => ({ ...s })),
    warnings: run.warnings,
    alsoSeen: run.alsoSeen,
    ...(run.costCheck ? { costCheck: run.costCheck } : {}),
    ...(run.agentUsage ? { agentUsage: run.agentUsage } : {}),
    groups,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
