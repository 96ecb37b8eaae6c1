import type { Analysis } from "../../analysis/analysis.ts";
import type { ErrorGroup } from "../../grouping/collector.ts";
import type { Behaviour } from "./behaviour.ts";

const CAUSES: Record<Behaviour["signal"], string> = {
  permission_denied:
    "the agent keeps asking for a tool its permissions do not allow, so its sessions stall on prompts or work around the refusal",
  tool_failures:
    "one of the agent's tools fails far more often than it did, which usually means its environment changed",
  runaway_session:
    "sessions ran far beyond the repository's usual size: a loop, a task too large for one session, or missing stop criteria",
};

/** The offline writeup of an agent_behaviour group: the figures, the likely cause, the guardrail. */
export function behaviourWriteup(group: ErrorGroup, b: Behaviour): Analysis {
  return {
    analyst: "offline",
    summary: `${group.title}: ${b.detail}.`,
    rootCause: `No code cause: this is the coding agent's own behaviour — ${CAUSES[b.signal]}.`,
    confidence: 0.6,
    category: "agent_behaviour",
    suspect: null,
    violatedCriteria: [],
    evidence: [
      b.detail,
      ...(b.baseline !== null ? [`baseline before the window: ${b.baseline}`] : []),
      ...(b.sessions.length > 0 ? [`sessions: ${b.sessions.join(", ")}`] : []),
    ],
    investigationSteps: [
      `Proposed guardrail (a person decides; tracefix never changes agent configuration): ${b.guardrail}`,
    ],
    fix: null,
  };
}
