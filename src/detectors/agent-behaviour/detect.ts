import type { ErrorGroup } from "../../grouping/collector.ts";
import { behaviourFingerprint } from "../../grouping/fingerprint.ts";
import type { Detector, DetectorInput, DetectorRun } from "../detector.ts";
import type { AgentUsage, Behaviour } from "./behaviour.ts";
import { readAgentAggregates } from "./queries.ts";
import type { AgentSettings } from "./settings.ts";
import {
  denialClusters,
  type Finding,
  runawaySessions,
  type SessionFigures,
  sessionFigures,
  toolFailureSpikes,
  usageSummary,
} from "./signals.ts";

export interface AgentRun {
  usage: AgentUsage;
  /** Every session seen in the lookback and the window: what session linkage reads. */
  sessions: Map<string, SessionFigures>;
}

/**
 * agent_behaviour: the coding agent itself misbehaving (denial clusters, a tool failing far more
 * than before, runaway sessions), from four aggregate queries per source. Also computes the
 * week-review usage figures and the session table that links sessions to commits.
 */
export class AgentBehaviourDetector implements Detector<AgentRun> {
  readonly name = "agent_behaviour";
  private readonly settings: AgentSettings;

  constructor(settings: AgentSettings) {
    this.settings = settings;
  }

  async detect({ sources, window, info }: DetectorInput): Promise<DetectorRun<AgentRun>> {
    const agg = await readAgentAggregates(sources, window, this.settings.lookbackMs);
    const usage = usageSummary(agg, window.sinceMs, this.settings.enabled);
    const sessions = sessionFigures(agg, window.sinceMs);
    if (!this.settings.enabled) return { groups: [], summary: { usage, sessions } };
    const findings = [
      ...denialClusters(agg, this.settings),
      ...toolFailureSpikes(agg, this.settings),
      ...runawaySessions(agg, this.settings, window.sinceMs),
    ];
    info(
      `agent check: ${usage.sessions} session(s), ${usage.toolCalls} tool call(s), ${findings.length} behaviour signal(s)`,
    );
    return { groups: findings.map(toGroup), summary: { usage, sessions } };
  }
}

function toGroup({ behaviour, firstMs, lastMs }: Finding): ErrorGroup & { behaviour: Behaviour } {
  const { fingerprint, slug } = behaviourFingerprint(behaviour);
  const what = {
    permission_denied: `Coding agent denied ${behaviour.tool} ${behaviour.count}×`,
    tool_failures: `Coding agent tool ${behaviour.tool} failing`,
    runaway_session: `Runaway coding-agent session(s)`,
  }[behaviour.signal];
  const title = `${what}${behaviour.repo ? ` in ${behaviour.repo}` : ""}`;
  return {
    fingerprint,
    slug,
    title,
    kind: "agent_behaviour",
    service: "claude-code",
    commitSha: null,
    grouping: {
      version: 1,
      basis: "agent_signal",
      exceptionType: behaviour.signal,
      frame: null,
      message: behaviour.detail,
    },
    issueKey: null,
    repositoryUrl: null,
    environment: null,
    count: behaviour.count,
    firstSeenMs: firstMs,
    lastSeenMs: lastMs,
    samples: [],
    traceLinks: [],
    sampled: true,
    behaviour,
  };
}
