import { StatusCode, stringAttribute, type TelemetrySpan } from "./span.ts";

/**
 * The seed's attribute names, with the OTel semantic-convention names as fallbacks.
 * Every reader of a convention goes through here so a renamed attribute is a one-line change.
 */
export const AGENT_STOP_FAILURE = "claude_code.turn.stop_failure";
export const AGENT_TURN_STOP = "claude_code.turn.stop";
export const AGENT_TOOL = "claude_code.tool";
export const AGENT_PERMISSION_DENIED = "claude_code.permission.denied";
/**
 * Agent spans with ERROR status that are the agent's own behaviour, not a failure of the code it
 * ships: triaged as agent_behaviour groups, never as exception groups.
 */
export const AGENT_BEHAVIOUR_SPANS: readonly string[] = [AGENT_TOOL, AGENT_PERMISSION_DENIED];

export function serviceNameOf(span: TelemetrySpan): string {
  return stringAttribute(span, "service.name") ?? "unknown_service";
}

/** Only hex SHAs are accepted: the value comes from telemetry and later reaches `git` and GitHub. */
export function commitShaOf(span: TelemetrySpan): string | null {
  return usableCommitSha(stringAttribute(span, "build.commit_sha", "vcs.ref.head.revision"));
}

export function usableCommitSha(sha: string | undefined): string | null {
  return sha && /^[0-9a-f]{7,64}$/i.test(sha) ? sha.toLowerCase() : null;
}

export function issueKeyOf(span: TelemetrySpan): string | null {
  return usableIssueKey(stringAttribute(span, "work_tracker.issue_id"));
}

export function usableIssueKey(key: string | undefined): string | null {
  return key && /^[A-Z][A-Z0-9_]+-\d+$/.test(key) ? key : null;
}

export function repositoryUrlOf(span: TelemetrySpan): string | null {
  return stringAttribute(span, "vcs.repository.url.full") ?? null;
}

export function environmentOf(span: TelemetrySpan): string | null {
  return (
    stringAttribute(span, "deploy.environment", "deployment.environment.name", "deployment.environment") ??
    null
  );
}

export function isAgentFailure(span: TelemetrySpan): boolean {
  if (span.name === AGENT_STOP_FAILURE) return true;
  return span.name === AGENT_TURN_STOP && span.status.code === StatusCode.Error;
}

export function isErrorSpan(span: TelemetrySpan): boolean {
  const flag = span.attributes.error;
  return span.status.code === StatusCode.Error || flag === true || flag === "true";
}

/** The spans tracefix triages: failed agent turns and error spans. */
export function isTriageCandidate(span: TelemetrySpan): boolean {
  if (AGENT_BEHAVIOUR_SPANS.includes(span.name)) return false;
  return isAgentFailure(span) || isErrorSpan(span);
}

/** An agent failure's reason is `error.type` when present, else `agent.stop_reason`. */
export function agentFailureReasonOf(span: TelemetrySpan): string {
  return stringAttribute(span, "error.type", "agent.stop_reason") ?? (span.status.message || "unknown");
}

export function agentRepositoryOf(span: TelemetrySpan): string | null {
  return stringAttribute(span, "git.repo", "git.origin", "vcs.repository.url.full", "cwd") ?? null;
}

export interface ExceptionInfo {
  type: string | null;
  message: string;
  stacktrace: string;
}

/** The first `exception` event wins; span attributes fill what the event lacks (the seed puts both). */
export function exceptionOf(span: TelemetrySpan): ExceptionInfo {
  const event = span.events.find((e) => e.name === "exception");
  const fromEvent = (key: string) => {
    const value = event?.attributes[key];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const pick = (key: string) => fromEvent(key) ?? stringAttribute(span, key);
  return {
    type: pick("exception.type") ?? null,
    message: pick("exception.message") ?? span.status.message ?? "",
    stacktrace: pick("exception.stacktrace") ?? "",
  };
}
