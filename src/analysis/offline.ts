import { hooksFor } from "../detectors/kinds.ts";
import type { Evidence } from "../evidence/gather.ts";
import { type Suspect, suspectFor } from "../evidence/suspects.ts";
import type { RankedGroup } from "../grouping/rank.ts";
import type { Analysis, Analyst } from "./analysis.ts";

// A stack frame on or inside a changed hunk: strong enough to call it the commit's doing.
const STRONG_SUSPECT = 0.6;

/** Known agent stop reasons and what they usually mean; none of them is a code defect. */
const AGENT_REASONS: Record<string, { category: Analysis["category"]; cause: string; step: string }> = {
  rate_limit: {
    category: "infrastructure",
    cause: "the model API rate-limited the agent",
    step: "Check the organisation's rate limits and how many agents ran concurrently.",
  },
  billing_error: {
    category: "config",
    cause: "the model API refused the request for billing reasons",
    step: "Check the API account's credit balance and spend limits.",
  },
  authentication_failed: {
    category: "config",
    cause: "the agent's API credentials were rejected",
    step: "Rotate or re-provision the agent's API key.",
  },
  server_error: {
    category: "infrastructure",
    cause: "the model API returned server errors",
    step: "Compare with the provider's status page for the same window.",
  },
  invalid_request: {
    category: "agent_behaviour",
    cause: "the agent sent a request the API rejected as invalid",
    step: "Look at the turn's last tool calls and context size.",
  },
  max_output_tokens: {
    category: "agent_behaviour",
    cause: "the agent's response hit the output-token limit",
    step: "Look for turns that try to write very large files in one response.",
  },
  max_turns: {
    category: "agent_behaviour",
    cause: "the agent ran out of turns before finishing",
    step: "Read the session's plan comments to see where it looped.",
  },
};

/**
 * A deterministic writeup from the evidence alone, used when no ANTHROPIC_API_KEY is set. It never
 * proposes a patch and says plainly when the failing stacks do not touch the commit's diff.
 */
export class OfflineAnalyst implements Analyst {
  readonly name = "offline" as const;

  async analyse(group: RankedGroup, evidence: Evidence): Promise<Analysis> {
    const hooks = hooksFor(group);
    const analysis = hooks
      ? hooks.offline(group, evidence)
      : group.kind === "agent_stop_failure"
        ? analyseAgentFailure(group)
        : analyseException(group, evidence);
    // The sessions that wrote the commit are evidence whatever the kind; their plans are for
    // a reader (or Claude) to compare with the diff, which this analyst does not attempt.
    const sessions = evidence.agentSessions.map(
      (s) => `commit written by coding-agent session ${s.sessionId} (linked by ${s.link}: ${s.checked})`,
    );
    return { ...analysis, evidence: [...analysis.evidence, ...sessions] };
  }
}

function analyseAgentFailure(group: RankedGroup): Analysis {
  const reason = group.grouping.exceptionType ?? "unknown";
  const known = AGENT_REASONS[reason];
  const where = group.grouping.message ? ` in ${group.grouping.message}` : "";
  return {
    ...base(),
    summary: `${group.count} coding-agent turn(s)${where} stopped with "${reason}".`,
    rootCause: known
      ? `No code cause: ${known.cause}. Agent stop failures of this kind come from the agent's environment, not from a commit.`
      : `No code cause identified: the agent stopped with "${reason}", which the offline analyst does not recognise.`,
    confidence: known ? 0.6 : 0.2,
    category: known?.category ?? "unknown",
    evidence: [
      `${group.count} claude_code.turn.stop_failure span(s) with error.type/agent.stop_reason "${reason}"`,
    ],
    investigationSteps: [
      ...(known ? [known.step] : []),
      `Open the sample traces (${group.samples.length}) to see the turn's tool calls before the failure.`,
    ],
  };
}

function analyseException(group: RankedGroup, evidence: Evidence): Analysis {
  const commit = evidence.commit;
  const frames = group.grouping.frame ?? "";
  if (!commit) {
    return {
      ...base(),
      summary: `${group.title} — ${group.count} occurrence(s).`,
      rootCause: `Undetermined: no diff to compare the stack against (${evidence.diffUnavailable ?? "no commit"}).`,
      confidence: 0.1,
      evidence: [`${group.count} error span(s); in-app frames: ${frames || "none"}`],
      investigationSteps: [
        "Re-run with --repo-dir pointing at a checkout that contains the deployed commit.",
        "Open the sample traces and read the stack trace.",
      ],
    };
  }
  const short = commit.sha.slice(0, 12);
  const top = evidence.suspects[0];
  const fileCount = evidence.files.length;
  if (!top || top.score < STRONG_SUSPECT) {
    return {
      ...base(),
      summary: `${group.title} — ${group.count} occurrence(s) on ${short}; no code cause found in this commit.`,
      rootCause:
        `No code cause found in this commit: the failing stack frames (${frames || "none in app code"}) ` +
        `${top ? "only touch a changed file away from the changed lines" : "do not touch any of the"} ` +
        `${top ? `(${top.path})` : `${fileCount} file(s) changed by ${short} ("${commit.subject}")`}. ` +
        "The error likely predates this deploy or comes from data, configuration or a dependency.",
      confidence: top ? 0.35 : 0.3,
      category: "unknown",
      evidence: [
        `${group.count} error span(s) between ${iso(group.firstSeenMs)} and ${iso(group.lastSeenMs)}`,
        `commit ${short} changed ${fileCount} file(s): ${evidence.files.map((f) => f.path).join(", ") || "none"}`,
        ...(top ? [`weak suspect: ${top.reason}`] : []),
      ],
      investigationSteps: [
        "Check whether the same error occurred on the previous commit (it usually does when the diff is innocent).",
        "Look at the inputs in the sample spans' attributes for the failing case.",
      ],
    };
  }
  return {
    ...base(),
    summary: `${group.title} — ${group.count} occurrence(s), introduced by ${short} ("${commit.subject}").`,
    rootCause:
      `The failing stack runs through ${locate(top)}, which commit ${short} ("${commit.subject}", ` +
      `${commit.author}) changed. ${capitalise(top.reason)}.`,
    confidence: Math.min(0.9, Math.round((0.45 + 0.45 * top.score) * 100) / 100),
    category: "code_regression",
    suspect: suspectFor(commit.sha, top),
    evidence: [
      `${group.count} error span(s) between ${iso(group.firstSeenMs)} and ${iso(group.lastSeenMs)}`,
      ...evidence.suspects.slice(0, 3).map((s) => `suspect ${locate(s)} (score ${s.score}): ${s.reason}`),
      ...(group.newCommit ? [`commit ${short} was first seen inside this window`] : []),
    ],
    investigationSteps: [
      `Read the hunk of ${top.path} in ${short} around line ${top.line ?? "?"}.`,
      "Reproduce with the input from a sample span's attributes.",
    ],
  };
}

function base(): Omit<Analysis, "summary" | "rootCause" | "confidence" | "evidence" | "investigationSteps"> {
  return { analyst: "offline", category: "unknown", suspect: null, violatedCriteria: [], fix: null };
}

function locate(suspect: Suspect): string {
  return suspect.line !== undefined ? `${suspect.path}:${suspect.line}` : suspect.path;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
