import { environmentOf, exceptionOf, issueKeyOf, repositoryUrlOf } from "../telemetry/conventions.ts";
import type { SpanSink } from "../telemetry/source.ts";
import type { Attributes, AttributeValue, TelemetrySpan } from "../telemetry/span.ts";
import { fingerprintFor, type GroupIdentity } from "./fingerprint.ts";

export const SAMPLES_PER_GROUP = 5;
// Bounds per sample keep memory O(groups) even when one span carries a megabyte stack trace.
const MAX_STACK_CHARS = 16_000;
const MAX_MESSAGE_CHARS = 2_000;
const MAX_SAMPLE_ATTRIBUTES = 40;
const MAX_ATTRIBUTE_CHARS = 1_000;

export interface SpanSample {
  traceId: string;
  spanId: string;
  name: string;
  timeMs: number;
  exceptionType: string | null;
  message: string;
  stacktrace: string;
  attributes: Attributes;
}

export interface ErrorGroup extends GroupIdentity {
  issueKey: string | null;
  repositoryUrl: string | null;
  environment: string | null;
  count: number;
  firstSeenMs: number;
  lastSeenMs: number;
  samples: SpanSample[];
}

/** Folds spans into groups as they stream past; holds only the groups and a few samples each. */
export class GroupCollector implements SpanSink {
  private readonly byFingerprint = new Map<string, ErrorGroup>();
  private readonly commitFirstSeen = new Map<string, number>();

  addSpan(span: TelemetrySpan): void {
    const identity = fingerprintFor(span);
    let group = this.byFingerprint.get(identity.fingerprint);
    if (!group) {
      group = {
        ...identity,
        issueKey: null,
        repositoryUrl: null,
        environment: null,
        count: 0,
        firstSeenMs: span.startTimeMs,
        lastSeenMs: span.startTimeMs,
        samples: [],
      };
      this.byFingerprint.set(identity.fingerprint, group);
    }
    group.count += 1;
    group.firstSeenMs = Math.min(group.firstSeenMs, span.startTimeMs);
    group.lastSeenMs = Math.max(group.lastSeenMs, span.startTimeMs);
    group.issueKey ??= issueKeyOf(span);
    group.repositoryUrl ??= repositoryUrlOf(span);
    group.environment ??= environmentOf(span);
    keepLatestSamples(group.samples, span);
  }

  noteCommitSeen(commitSha: string, timeMs: number): void {
    const seen = this.commitFirstSeen.get(commitSha);
    if (seen === undefined || timeMs < seen) this.commitFirstSeen.set(commitSha, timeMs);
  }

  groups(): ErrorGroup[] {
    return [...this.byFingerprint.values()];
  }

  firstSeenOfCommit(commitSha: string): number | undefined {
    return this.commitFirstSeen.get(commitSha);
  }
}

function keepLatestSamples(samples: SpanSample[], span: TelemetrySpan): void {
  if (samples.some((s) => s.traceId === span.traceId && s.spanId === span.spanId)) return;
  if (samples.length >= SAMPLES_PER_GROUP) {
    let oldest = 0;
    for (let i = 1; i < samples.length; i++) {
      if ((samples[i]?.timeMs ?? 0) < (samples[oldest]?.timeMs ?? 0)) oldest = i;
    }
    if ((samples[oldest]?.timeMs ?? 0) >= span.startTimeMs) return;
    samples.splice(oldest, 1);
  }
  samples.push(toSample(span));
  samples.sort((a, b) => b.timeMs - a.timeMs);
}

function toSample(span: TelemetrySpan): SpanSample {
  const exception = exceptionOf(span);
  const attributes: Attributes = {};
  for (const [key, value] of Object.entries(span.attributes).slice(0, MAX_SAMPLE_ATTRIBUTES)) {
    if (key === "exception.stacktrace") continue;
    attributes[key] = boundValue(value);
  }
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    name: span.name,
    timeMs: span.startTimeMs,
    exceptionType: exception.type,
    message: truncate(exception.message, MAX_MESSAGE_CHARS),
    stacktrace: truncate(exception.stacktrace, MAX_STACK_CHARS),
    attributes,
  };
}

function boundValue(value: AttributeValue): AttributeValue {
  if (typeof value === "string") return truncate(value, MAX_ATTRIBUTE_CHARS);
  if (value instanceof Uint8Array) return `[${value.length} bytes]`;
  if (Array.isArray(value) || (typeof value === "object" && value !== null)) {
    return truncate(JSON.stringify(value), MAX_ATTRIBUTE_CHARS);
  }
  return value;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… [${text.length - max} chars truncated]` : text;
}
