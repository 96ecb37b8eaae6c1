import { type Attributes, type AttributeValue, StatusCode, type TelemetrySpan } from "./span.ts";

/**
 * The columns both query backends group and sample by. Server-side groups are coarse (these
 * keys); samples are fingerprinted locally exactly like file spans, so all sources agree on groups.
 */
export type FieldContext = "resource" | "attribute";

export interface Field {
  name: string;
  context: FieldContext;
}

const resource = (name: string): Field => ({ name, context: "resource" });
const attribute = (name: string): Field => ({ name, context: "attribute" });

export const GROUP_FIELDS: readonly Field[] = [
  resource("service.name"),
  resource("build.commit_sha"),
  attribute("exception.slug"),
  attribute("exception.type"),
  attribute("error.type"),
  attribute("agent.stop_reason"),
  attribute("git.repo"),
];

/**
 * What separates two causes inside one server-side group: the rest of what the fingerprint reads.
 * Grouping by them on the server gives exact counts per cause, normalised and merged locally.
 */
export const CAUSE_FIELDS: readonly Field[] = [
  attribute("exception.message"),
  attribute("exception.stacktrace"),
];

export const SAMPLE_FIELDS: readonly Field[] = [
  ...GROUP_FIELDS,
  resource("service.version"),
  resource("vcs.ref.head.revision"),
  resource("deploy.environment"),
  resource("deployment.environment.name"),
  resource("work_tracker.issue_id"),
  resource("vcs.repository.url.full"),
  attribute("exception.message"),
  attribute("exception.stacktrace"),
  attribute("git.origin"),
  attribute("cwd"),
  attribute("session.id"),
  attribute("turn.id"),
  attribute("code.filepath"),
  attribute("code.lineno"),
  attribute("code.function"),
];

export interface SpanIntrinsics {
  traceId: string;
  spanId: string;
  name: string;
  timeMs: number;
  isError: boolean;
  statusMessage: string;
  traceUrl?: string;
}

/** Backends answer with flat rows; empty strings are how they say "not set". */
export function spanFromFields(values: Record<string, unknown>, intrinsics: SpanIntrinsics): TelemetrySpan {
  const resourceAttributes: Attributes = {};
  const attributes: Attributes = {};
  for (const field of SAMPLE_FIELDS) {
    const value = toAttributeValue(values[field.name]);
    if (value === null) continue;
    (field.context === "resource" ? resourceAttributes : attributes)[field.name] = value;
  }
  return {
    traceId: intrinsics.traceId,
    spanId: intrinsics.spanId,
    parentSpanId: "",
    name: intrinsics.name,
    kind: 0,
    startTimeMs: intrinsics.timeMs,
    endTimeMs: intrinsics.timeMs,
    status: {
      code: intrinsics.isError ? StatusCode.Error : StatusCode.Unset,
      message: intrinsics.statusMessage,
    },
    attributes,
    resource: resourceAttributes,
    scope: "",
    events: [],
    ...(intrinsics.traceUrl ? { traceUrl: intrinsics.traceUrl } : {}),
  };
}

function toAttributeValue(raw: unknown): AttributeValue {
  if (raw === undefined || raw === null || raw === "") return null;
  if (typeof raw === "string" || typeof raw === "boolean") return raw;
  if (typeof raw === "number") return Number.isFinite(raw) ? raw : null;
  return JSON.stringify(raw);
}
