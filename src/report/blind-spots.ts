import type { AgentUsage } from "../detectors/agent-behaviour/behaviour.ts";
import type { CostCheck } from "../detectors/cost-regression/regression.ts";
import type { SourceStats } from "../telemetry/source.ts";
import type { ReportGroup } from "./schema.ts";

export interface RunWarning {
  code: string;
  message: string;
}

export interface BlindSpotInput {
  sourceStats: SourceStats[];
  /** Every group found (not only the analysed ones), with its service, commit, kind and count. */
  found: ReadonlyArray<{ service: string; commitSha: string | null; kind: string; count: number }>;
  analysed: readonly ReportGroup[];
  evidence: { repoDir: boolean; github: boolean };
  /** Hosts that stopped answering during the run (circuit breakers that opened). */
  unreachable: ReadonlyArray<{ service: string; host: string; reason: string; failedFast: number }>;
  costCheck?: CostCheck;
  agentUsage?: AgentUsage;
}

/**
 * What this run could not see, said once at run level so "no failing spans" or "no code cause"
 * is never claimed without the evidence to claim it. Pure: the report and stderr render it.
 */
export function blindSpots(input: BlindSpotInput): RunWarning[] {
  const warnings: RunWarning[] = [];
  for (const stats of input.sourceStats) {
    const where = stats.location ? ` at ${stats.location}` : "";
    if (stats.failed) {
      warnings.push({
        code: "source_failed",
        message: `${label(stats.source)}${where} could not be read: ${stats.failed.message}. Nothing it holds is in this report; check ${stats.failed.check}.`,
      });
      continue;
    }
    if (stats.source === "file" && stats.spansRead === 0 && (stats.notTraceLines ?? 0) > 0) {
      warnings.push({
        code: "no_spans_in_input",
        message: `${stats.location ?? "the input"}: ${stats.notTraceLines} line(s) are JSON but hold no spans (no resourceSpans: logs, metrics, or not OTLP at all), so nothing was read. Pass the Collector file exporter's trace output.`,
      });
    }
    const outside = stats.spansOutsideWindow ?? 0;
    if (stats.spansRead > 0 && outside === stats.spansRead) {
      const range = stats.timeRange
        ? ` The file covers ${stats.timeRange.first} → ${stats.timeRange.last}.`
        : "";
      warnings.push({
        code: "input_outside_window",
        message: `all ${stats.spansRead} span(s) in ${stats.location ?? "the input"} fall outside the window.${range} Set --since/--until to cover it.`,
      });
    }
  }

  const exceptions = input.found.filter((g) => g.kind === "exception");
  const total = exceptions.reduce((n, g) => n + g.count, 0);
  const noCommit = exceptions.filter((g) => g.commitSha === null).reduce((n, g) => n + g.count, 0);
  const noService = input.found
    .filter((g) => g.service === "unknown_service")
    .reduce((n, g) => n + g.count, 0);
  if (noCommit > 0) {
    warnings.push({
      code: "spans_without_commit",
      message: `${noCommit} of ${total} failing span(s) carry no build.commit_sha (or vcs.ref.head.revision): their diff, suspects and "new commit" flag cannot be known. Set the resource attribute at deploy time.`,
    });
  }
  if (noService > 0) {
    warnings.push({
      code: "spans_without_service",
      message: `${noService} failing span(s) carry no service.name; they are grouped as unknown_service. Set the resource attribute in the SDK.`,
    });
  }

  const withCommit = input.analysed.filter((g) => g.commitSha !== null);
  if (withCommit.length > 0 && !input.evidence.repoDir && !input.evidence.github) {
    warnings.push({
      code: "no_diff_source",
      message: `no diff source: neither --repo-dir nor GITHUB_TOKEN is set, so no group's commit could be read and every verdict below is "unknown". Pass --repo-dir <checkout> or set GITHUB_TOKEN (with GITHUB_REPOSITORY or services mapped in triage.config.json).`,
    });
  } else if (
    withCommit.length > 0 &&
    !input.evidence.repoDir &&
    withCommit.every((g) => g.repository === null)
  ) {
    const services = [...new Set(withCommit.map((g) => g.service))].join(", ");
    warnings.push({
      code: "repository_unresolved",
      message: `GITHUB_TOKEN is set but no repository could be resolved for ${services}, so no diff was read. Set GITHUB_REPOSITORY, or map the services in triage.config.json ("services": {"<service>": {"repo": "owner/repo"}}).`,
    });
  }

  for (const host of input.unreachable) {
    warnings.push({
      code: "host_unreachable",
      message: `${host.service} at ${host.host} stopped answering (${host.reason}); ${host.failedFast} later call(s) failed at once instead of waiting. Check the host and the network from this runner.`,
    });
  }
  // A cost check that could not read a source is blind there, not clean.
  for (const failure of input.costCheck?.failed ?? []) {
    warnings.push({
      code: "cost_check_failed",
      message: `the cost check could not read ${failure.metric} from ${label(failure.source as SourceStats["source"])}: ${failure.message}. Cost regressions there would not show.`,
    });
  }
  for (const failure of input.agentUsage?.failed ?? []) {
    warnings.push({
      code: "agent_check_failed",
      message: `the coding-agent check could not read ${label(failure.source as SourceStats["source"])} (${failure.message}). Agent behaviour and usage figures there are missing.`,
    });
  }
  for (const note of input.costCheck?.partial ?? []) {
    warnings.push({
      code: "cost_check_partial",
      message: `the cost check saw only part of ${label(note.source as SourceStats["source"])}: ${note.message}.`,
    });
  }
  return warnings;
}

function label(source: SourceStats["source"]): string {
  return source === "file" ? "The input file" : source === "signoz" ? "SigNoz" : "Honeycomb";
}
