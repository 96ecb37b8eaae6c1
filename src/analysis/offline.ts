import { hooksFor } from "../detectors/kinds.ts";
import type { Evidence } from "../evidence/gather.ts";
import { STRONG_SUSPECT, type Suspect, suspectFor } from "../evidence/suspects.ts";
import type { RankedGroup } from "../grouping/rank.ts";
import type { Analysis, Analyst } from "./analysis.ts";

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
  // An error that fired before the deploy was not introduced by it, however close a change is.
  const strong = top !== undefined && top.score >= STRONG_SUSPECT;
  if (!strong || evidence.predates) {
    // "No code cause" is a claim: made only with evidence for it. Otherwise, undetermined.
    const positive = noCodeCauseEvidence(group, evidence);
    const onStack = strong
      ? `${short} ("${commit.subject}") did change ${locate(top)}, where ${top.reason.replace(/^stack frame #\d+ /, "a stack frame ")}; it may have made the error more frequent, but did not introduce it`
      : `No changed line of ${short} ("${commit.subject}") is on the failing stack`;
    const closest = top
      ? `the closest candidate is ${locate(top)}, where ${top.reason.replace(/^stack frame #\d+ /, "a stack frame ")}`
      : `the in-app frames (${frames || "none"}) touch none of the ${fileCount} file(s) ${short} changed`;
    const common = {
      ...base(),
      evidence: [
        `${group.count} error span(s) between ${iso(group.firstSeenMs)} and ${iso(group.lastSeenMs)}`,
        `commit ${short} changed ${fileCount} file(s): ${evidence.files.map((f) => f.path).join(", ") || "none"}`,
        ...(top ? [`${strong ? "suspect" : "weak suspect"}: ${top.reason}`] : []),
        ...(positive ? [positive.evidence] : []),
      ],
    };
    if (positive) {
      return {
        ...common,
        summary: `${group.title} — ${group.count} occurrence(s) on ${short}; no code cause found in this commit.`,
        rootCause: strong
          ? `No code cause found in this commit: ${positive.why} ${onStack}.`
          : `No code cause found in this commit: ${positive.why} ${onStack}; ${closest}.`,
        confidence: 0.5,
        category: positive.category,
        investigationSteps: positive.steps,
      };
    }
    return {
      ...common,
      summary: `${group.title} — ${group.count} occurrence(s) on ${short}; cause undetermined.`,
      rootCause: `Undetermined: no changed line of ${short} ("${commit.subject}") is on the failing stack, and nothing shows the error predates it; ${closest}. The cause may be in an earlier commit of the deploy, in data or in configuration.`,
      confidence: 0.25,
      category: "unknown",
      investigationSteps: [
        "Check whether the same error occurred on the previous commit (it usually does when the diff is innocent).",
        "Look at the commits deployed together with this one, and at the inputs in the sample spans' attributes.",
      ],
    };
  }
  const earlier = evidence.introducedBy
    ? ` It is an earlier commit of the deploy: the service runs ${evidence.introducedBy.runningSha.slice(0, 12)}, and ${top.path} line ${top.line ?? "?"} was last changed by ${short}.`
    : "";
  return {
    ...base(),
    summary: `${group.title} — ${group.count} occurrence(s), introduced by ${short} ("${commit.subject}").`,
    rootCause:
      `The failing stack runs through ${locate(top)}, which commit ${short} ("${commit.subject}", ` +
      `${commit.author}) changed. ${capitalise(top.reason)}.${earlier}`,
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

// Errors whose shape says "environment": connection failures, timeouts, DNS, disk, memory, a
// provider refusing the load. Code can cause them too, so they only count with no changed line
// on the stack.
const INFRASTRUCTURE_CODES =
  /\b(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ESOCKETTIMEDOUT|ENOTFOUND|EAI_AGAIN|ENOSPC|ENOMEM)\b/;
const INFRASTRUCTURE_WORDS =
  /\b(connection (refused|reset|closed)|timed? ?out|timeout|getaddrinfo|name resolution|DNS|no space left|disk (is )?full|OutOfMemory(Error)?|out of memory|OOM|heap limit|rate.?limit(ed)?|too many requests|429|502|503|504|service unavailable|bad gateway|throttl\w*)\b/i;

/** The positive evidence that the code of this commit did not cause the group, if any. */
function noCodeCauseEvidence(
  group: RankedGroup,
  evidence: Evidence,
): { why: string; evidence: string; category: Analysis["category"]; steps: string[] } | null {
  if (evidence.predates) {
    const earlier = evidence.predates.commitSha.slice(0, 12);
    return {
      why: `the same error fired ${evidence.predates.count}× on ${earlier}, which ran before this commit, so it predates this deploy.`,
      evidence: `the same error fired ${evidence.predates.count}× on the earlier commit ${earlier}`,
      category: "unknown",
      steps: [`Look at when the error first appeared on ${earlier} and what changed then.`],
    };
  }
  const sample = group.samples[0];
  const text = `${group.grouping.exceptionType ?? ""} ${sample?.message ?? group.grouping.message}`;
  const shape = INFRASTRUCTURE_CODES.exec(text)?.[0] ?? INFRASTRUCTURE_WORDS.exec(text)?.[0];
  if (shape) {
    return {
      why: `the error is infrastructure-shaped ("${shape}": a connection, timeout, DNS, disk, memory or rate-limit failure).`,
      evidence: `infrastructure-shaped error: "${shape}"`,
      category: "infrastructure",
      steps: [
        "Check the health of the dependency the error names for the same window.",
        "Compare with the previous days' rate of the same error.",
      ],
    };
  }
  return null;
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
