import { createHash } from "node:crypto";
import {
  agentFailureReasonOf,
  agentRepositoryOf,
  commitShaOf,
  exceptionOf,
  isAgentFailure,
  serviceNameOf,
} from "../telemetry/conventions.ts";
import { stringAttribute, type TelemetrySpan } from "../telemetry/span.ts";
import { normaliseMessage } from "./normalise-message.ts";
import { firstInAppFrame, frameKey, parseStackTrace } from "./stack-frames.ts";

/**
 * Bump when any input to the slug or fingerprint changes meaning: tickets and branches are keyed
 * by fingerprint, so a silent change would open duplicates on the next night.
 */
export const FINGERPRINT_VERSION = 1;

export type GroupKind = "exception" | "agent_stop_failure" | "cost_regression" | "agent_behaviour";

/** Why a span landed in its group: shown in the report so grouping is explainable. */
export interface GroupingBasis {
  version: number;
  basis: "exception.slug" | "derived" | "agent_stop_reason" | "metric_step" | "agent_signal";
  exceptionType: string | null;
  frame: string | null;
  message: string;
}

export interface GroupIdentity {
  fingerprint: string;
  slug: string;
  title: string;
  kind: GroupKind;
  service: string;
  commitSha: string | null;
  grouping: GroupingBasis;
}

export function fingerprintFor(span: TelemetrySpan): GroupIdentity {
  const service = serviceNameOf(span);
  const commitSha = commitShaOf(span);
  const identity = isAgentFailure(span) ? agentIdentity(span) : exceptionIdentity(span, service);
  const fingerprint = shortHash(
    [`v${FINGERPRINT_VERSION}`, identity.kind, identity.slug, commitSha ?? "", service].join("\n"),
    16,
  );
  return { ...identity, fingerprint, service, commitSha };
}

/**
 * Cost regressions have no span to fingerprint: service, operation, metric and commit identify
 * them (version 1 of that scheme, under the same global version as everything else).
 */
export function metricFingerprint(parts: {
  service: string;
  operation: string;
  metric: string;
  commitSha: string;
}): { fingerprint: string; slug: string } {
  const fingerprint = shortHash(
    [
      `v${FINGERPRINT_VERSION}`,
      "cost_regression",
      parts.service,
      parts.operation,
      parts.metric,
      parts.commitSha,
    ].join("\n"),
    16,
  );
  return { fingerprint, slug: `cost.${slugPart(parts.metric)}.${slugPart(parts.operation) || "operation"}` };
}

/** agent_behaviour: the signal, the tool and the repository identify it night after night. */
export function behaviourFingerprint(parts: { signal: string; tool: string | null; repo: string | null }): {
  fingerprint: string;
  slug: string;
} {
  const fingerprint = shortHash(
    [`v${FINGERPRINT_VERSION}`, "agent_behaviour", parts.signal, parts.tool ?? "", parts.repo ?? ""].join(
      "\n",
    ),
    16,
  );
  const where = parts.repo ? `@${shortHash(parts.repo, 6)}` : "";
  return {
    fingerprint,
    slug: `agent.${parts.signal}${parts.tool ? `.${slugPart(parts.tool)}` : ""}${where}`,
  };
}

type PartialIdentity = Pick<GroupIdentity, "slug" | "title" | "kind" | "grouping">;

function exceptionIdentity(span: TelemetrySpan, service: string): PartialIdentity {
  const exception = exceptionOf(span);
  const type = exception.type;
  const message = normaliseMessage(exception.message);
  const frame = firstInAppFrame(parseStackTrace(exception.stacktrace));
  const frameId = frame ? frameKey(frame) : null;
  const title = `${type ?? "Error"}: ${message || span.name}${frame ? ` (at ${frame.function || frame.file})` : ""}`;
  const serviceSlug = sanitiseSlug(stringAttribute(span, "exception.slug") ?? "");
  if (serviceSlug) {
    return {
      slug: serviceSlug,
      title,
      kind: "exception",
      grouping: {
        version: FINGERPRINT_VERSION,
        basis: "exception.slug",
        exceptionType: type,
        frame: frameId,
        message,
      },
    };
  }
  const readable = [type ?? span.name, frame?.function ?? ""]
    .filter((part) => part !== "")
    .map(slugPart)
    .join(".");
  const digest = shortHash([service, type ?? "", frameId ?? "", message].join("\n"), 8);
  return {
    slug: `${readable || "error"}.${digest}`,
    title,
    kind: "exception",
    grouping: {
      version: FINGERPRINT_VERSION,
      basis: "derived",
      exceptionType: type,
      frame: frameId,
      message,
    },
  };
}

function agentIdentity(span: TelemetrySpan): PartialIdentity {
  const reason = slugPart(agentFailureReasonOf(span)) || "unknown";
  const repository = agentRepositoryOf(span);
  const where = repository ? `@${shortHash(repository, 6)}` : "";
  return {
    slug: `agent.${reason}${where}`,
    title: `Coding-agent turn failed: ${reason}${repository ? ` in ${repository}` : ""}`,
    kind: "agent_stop_failure",
    grouping: {
      version: FINGERPRINT_VERSION,
      basis: "agent_stop_reason",
      exceptionType: reason,
      frame: null,
      message: repository ?? "",
    },
  };
}

function slugPart(text: string): string {
  return text
    .replace(/[^A-Za-z0-9_.-]+/g, "_")
    .replace(/^[_.-]+|[_.-]+$/g, "")
    .slice(0, 60);
}

/** Service-set slugs are telemetry (untrusted): keep a safe alphabet and a bounded length. */
function sanitiseSlug(raw: string): string {
  return raw
    .trim()
    .replace(/[^A-Za-z0-9_.:@/-]+/g, "_")
    .slice(0, 120);
}

function shortHash(text: string, length: number): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}
