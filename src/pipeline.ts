import { randomUUID } from "node:crypto";
import pLimit from "p-limit";
import type { ActionResult, ActionSink } from "./actions/action.ts";
import type { Analyst } from "./analysis/analysis.ts";
import { BudgetExhaustedError } from "./analysis/budget.ts";
import { createClients } from "./clients.ts";
import type { RunConfig } from "./config.ts";
import { AgentBehaviourDetector } from "./detectors/agent-behaviour/detect.ts";
import { linkSessions } from "./detectors/agent-behaviour/linkage.ts";
import { CostRegressionDetector } from "./detectors/cost-regression/detect.ts";
import { followSuspectCommit } from "./evidence/follow-suspect.ts";
import type { Evidence } from "./evidence/gather.ts";
import { Redactor, redactGroup } from "./evidence/redact.ts";
import { GroupCollector } from "./grouping/collector.ts";
import { earlierOccurrence, type RankedGroup, rankGroups } from "./grouping/rank.ts";
import type { Progress } from "./progress.ts";
import { blindSpots } from "./report/blind-spots.ts";
import { buildReport, type GroupOutcome, toReportGroup } from "./report/build.ts";
import { redactReportGroups } from "./report/redact-report.ts";
import type { Report, ReportGroup } from "./report/schema.ts";
import { createAnalyst, createEvidence, createSink } from "./stages.ts";
import { createSources } from "./telemetry/factory.ts";
import type { SourceStats, TelemetrySource } from "./telemetry/source.ts";

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
  const sources = createSources(config, (line) => progress.detail(line));
  await Promise.all(sources.map((source) => source.preflight()));

  // Sources run concurrently into one collector; groups with the same fingerprint merge.
  const collector = new GroupCollector();
  const outcomes = await Promise.all(
    sources.map((source) => collectFrom(source, config, collector, progress)),
  );
  const sourceStats = outcomes.map((o) => o.stats);
  const sourceFailed = outcomes.some((o) => o.failed);
  // Kinds error spans do not point at: each detector reads the sources its own way.
  const detectorInput = {
    // A source that could not be read at all is reported once, as such, not again per detector.
    sources: sources.filter((_, i) => !outcomes[i]?.failed),
    window: config.window,
    info: (line: string) => progress.info(line),
    noteCommitSeen: (sha: string, ms: number, service?: string) => collector.noteCommitSeen(sha, ms, service),
  };
  const [costs, agents] = await Promise.all([
    new CostRegressionDetector(config.regressions).detect(detectorInput),
    new AgentBehaviourDetector(config.agents).detect(detectorInput),
  ]);

  const all = [...collector.groups(), ...costs.groups, ...agents.groups];
  const firstSeen = (sha: string) => collector.firstSeenOfCommit(sha);
  const everyRank = rankGroups(all, config.window, firstSeen);
  const ranked = everyRank.slice(0, config.limit);
  progress.info(`${all.length} group(s) found; gathering evidence and analysing the top ${ranked.length}`);

  // One redactor for the run: telemetry is redacted before evidence or analysis sees it.
  const redactor = new Redactor();
  const clients = await createClients(config, progress);
  const gatherEvidence = await createEvidence(config, redactor, clients, ranked);
  // The commit's evidence, then the agent sessions that wrote it (checked against the commit).
  const gather = async (group: RankedGroup): Promise<Evidence> => {
    const predates = earlierOccurrence(group, all, firstSeen);
    const evidence = await followSuspectCommit(group, await gatherEvidence(group), predates, {
      repoDir: config.repoDir,
      github: clients.github,
      previous: group.commitSha ? collector.previousCommitOf(group.service, group.commitSha) : null,
      gather: gatherEvidence,
    });
    evidence.predates = predates;
    const { links, notes } = linkSessions({
      commit: evidence.commit
        ? { authoredAt: evidence.commit.authoredAt, files: evidence.files.map((f) => f.path) }
        : null,
      issueKey: evidence.workItem?.key ?? group.issueKey,
      repository: evidence.repository,
      agentNotes: evidence.workItem?.agentNotes ?? [],
      sessions: agents.summary.sessions,
    });
    evidence.agentSessions = await redactor.redactDeep(
      links,
      links.map((l) => l.sessionId),
    );
    evidence.problems.push(...notes);
    return evidence;
  };
  const { analyst, summary } = await createAnalyst(config);
  // Marks this run's comments, so one whose reply is lost is found rather than written twice.
  const runId = `${now().toISOString()}/${randomUUID().slice(0, 8)}`;
  const sink = createSink(config, redactor, clients, runId);
  // The stages overlap: evidence for later groups is read while model calls are in flight (their
  // pace is the provider's, see analysis/pace.ts), and a group's actions go as soon as its
  // analysis is back. GitHub/Jira reads and writes each have their own bound; the number of groups
  // between the two bounds memory (each holds its diff until it is done).
  const evidenceLimit = pLimit(config.concurrency);
  const actionLimit = pLimit(config.concurrency);
  // Enough groups in flight to keep every stage busy, and no more: each holds its evidence. A batch
  // answers only once every group has asked, so then every group must be able to ask.
  const modelCalls = analyst.name === "claude" ? config.analysis.maxConcurrency : 0;
  const inFlight = pLimit(analyst.flush ? Math.max(1, ranked.length) : config.concurrency + modelCalls * 2);
  let gathered = 0;
  const asked = () => {
    gathered += 1;
    // After the group's own continuation has queued its request (setImmediate runs after it).
    if (gathered === ranked.length) setImmediate(() => void analyst.flush?.());
  };
  const paced: Pick<GroupDeps, "gather" | "sink"> = {
    gather: async (group) => {
      try {
        return await evidenceLimit(() => gather(group));
      } finally {
        asked();
      }
    },
    sink: { act: (input) => actionLimit(() => sink.act(input)) },
  };
  let done = 0;
  const groups = await Promise.all(
    ranked.map((group) =>
      inFlight(async () => {
        const result = await triageGroup(await redactGroup(group, redactor), {
          ...paced,
          analyst,
          config,
        });
        done += 1;
        progress.group(
          done,
          ranked.length,
          `#${group.rank} ${group.service} ${group.slug}: ${outcomeOf(result)}`,
        );
        progress.detail(whyOf(result));
        return result;
      }),
    ),
  );

  // A last pass over everything the report carries, then the counts of the whole run.
  const checked = await redactReportGroups(groups, redactor);
  const warnings = await redactor.redactDeep(
    blindSpots({
      sourceStats,
      found: all,
      analysed: checked,
      evidence: { repoDir: config.repoDir !== null, github: config.github !== null },
      costCheck: costs.summary,
      agentUsage: agents.summary.usage,
      unreachable: [clients.circuits.github, clients.circuits.jira].flatMap((c) =>
        c?.state.open
          ? [
              {
                service: c.service,
                host: c.host,
                reason: c.state.reason ?? "",
                failedFast: c.state.failedFast,
              },
            ]
          : [],
      ),
    }),
  );
  for (const warning of warnings) progress.warn(warning.message);
  for (const stats of sourceStats) progress.detail(`${stats.source}: ${stats.requests} request(s) in all`);
  const alsoSeen = everyRank.slice(config.limit).map((g) => ({
    rank: g.rank,
    fingerprint: g.fingerprint,
    service: g.service,
    // Slugs are telemetry: redacted like everything else that leaves the process.
    slug: g.slug,
    count: g.count,
    commitSha: g.commitSha,
    newCommit: g.newCommit,
  }));
  const report = buildReport(config, now(), sourceStats, all.length, checked, redactor.stats, summary(), {
    warnings,
    alsoSeen: await redactor.redactDeep(
      alsoSeen,
      alsoSeen.map((g) => g.fingerprint),
    ),
    costCheck: await redactor.redactDeep(costs.summary),
    agentUsage: await redactor.redactDeep(agents.summary.usage),
  });
  // A cost check that could not read a source is a failed read, like a failed source.
  const failed =
    sourceFailed ||
    costs.summary.failed.length > 0 ||
    agents.summary.usage.failed.length > 0 ||
    groups.some((g) => g.error || g.actions.some((a) => a.status === "failed"));
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
      location: source.location,
      failed: { message: messageOf(error), check: source.checks },
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
  const outcome: GroupOutcome = {
    group,
    evidence: null,
    analysis: null,
    actions: [],
    traceLinks: traceLinksFor(group, deps.config.traceLinkTemplate),
  };
  try {
    outcome.evidence = await deps.gather(group);
    outcome.analysis = await deps.analyst.analyse(group, outcome.evidence);
    if (!group.sampled) {
      const reason =
        "no sample spans could be read, so the fingerprint is provisional; nothing is written under it this run";
      outcome.actions = [
        { kind: "incident", status: "skipped", reason },
        { kind: "pull_request", status: "skipped", reason },
      ];
      return toReportGroup(outcome);
    }
    outcome.actions = await deps.sink.act({
      group,
      analysis: outcome.analysis,
      evidence: outcome.evidence,
      traceLinks: outcome.traceLinks,
    });
  } catch (caught) {
    if (caught instanceof BudgetExhaustedError) {
      // Not a failure: the run chose not to spend more. Nothing is acted on without an analysis.
      outcome.skipped = caught.message;
      outcome.actions = [
        { kind: "incident", status: "skipped", reason: caught.message },
        { kind: "pull_request", status: "skipped", reason: caught.message },
      ];
    } else {
      outcome.error = messageOf(caught);
      const stage = !outcome.evidence ? "evidence" : !outcome.analysis ? "analysis" : "actions";
      outcome.actions = failedActions(stage);
    }
  }
  return toReportGroup(outcome);
}

function failedActions(stage: string): ActionResult[] {
  return [
    { kind: "incident", status: "failed", reason: `${stage} failed` },
    { kind: "pull_request", status: "skipped", reason: `${stage} failed` },
  ];
}

/** The backends' own deep links when they gave any, else the configured template, else none. */
function traceLinksFor(group: RankedGroup, template: string | null): string[] {
  if (group.traceLinks.length > 0) return group.traceLinks;
  if (!template) return [];
  return group.samples
    .filter((s) => s.traceId)
    .map((s) => template.replaceAll("{traceId}", encodeURIComponent(s.traceId)));
}

/** --verbose: the group's model usage (cache hits included) and what became of each action. */
function whyOf(group: ReportGroup): string {
  const usage = group.analysis?.usage;
  const tokens = usage
    ? `model: ${usage.inputTokens} input (${usage.cacheReadTokens} read from cache, ${usage.cacheCreationTokens} written), ${usage.outputTokens} output tokens; `
    : "";
  const actions = group.actions
    .map(
      (a) => `${a.kind === "pull_request" ? "PR" : "ticket"} ${a.status}${a.reason ? `: ${a.reason}` : ""}`,
    )
    .join("; ");
  return `  #${group.rank} ${tokens}${actions}`;
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
