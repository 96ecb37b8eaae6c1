import type { Behaviour } from "../detectors/agent-behaviour/behaviour.ts";
import type { Regression } from "../detectors/cost-regression/regression.ts";
import { environmentOf, exceptionOf, issueKeyOf, repositoryUrlOf } from "../telemetry/conventions.ts";
import { spanFromFields } from "../telemetry/fields.ts";
import type { AggregateRow, CauseCounts, SpanSink } from "../telemetry/source.ts";
import type { Attributes, AttributeValue, TelemetrySpan } from "../telemetry/span.ts";
import { fingerprintFor, type GroupIdentity } from "./fingerprint.ts";

export const SAMPLES_PER_GROUP = 5;
// Links are kept apart from samples so that merged sources each keep theirs.
const MAX_TRACE_LINKS = 10;
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
  /** Backend deep links to sample traces, from every source that saw the group. */
  traceLinks: string[];
  /**
   * False when the backend's samples could not be read and the fingerprint was built from its
   * coarse group-by values: provisional, so nothing is written under it.
   */
  sampled: boolean;
  /** What ranking weighs instead of the count, for kinds whose size is not a count of spans. */
  impact?: number;
  /** cost_regression: the figures behind the group. */
  regression?: Regression;
  /** agent_behaviour: the signal and its figures. */
  behaviour?: Behaviour;
}

/** Folds spans into groups as they stream past; holds only the groups and a few samples each. */
export class GroupCollector implements SpanSink {
  private readonly byFingerprint = new Map<string, ErrorGroup>();
  private readonly commitFirstSeen = new Map<string, number>();
  private readonly serviceCommits = new Map<string, Map<string, number>>();

  addSpan(span: TelemetrySpan): void {
    const group = this.groupOf(span);
    this.absorb(group, span, 1, span.startTimeMs, span.startTimeMs);
    group.sampled = true;
    keepLatestSamples(group.samples, span);
  }

  /**
   * Server-side groups are coarser than fingerprints (no message normalisation or stack frames
   * in the query). When the samples fall into several fingerprints, the count is shared out in
   * proportion to the samples; totals always add up to what the backend counted.
   */
  addAggregate(row: AggregateRow): void {
    // Causes with no message and no stack (agent failures, exceptions kept only on span events)
    // say nothing the coarse keys did not: the samples decide, as below.
    const causes = row.causes ?? [];
    if (causes.some((c) => Object.values(c.keys).some((v) => v !== ""))) {
      this.addCauses(row, causes);
      return;
    }
    const spans = row.samples.length > 0 ? row.samples : [describeFromKeys(row.keys, row.lastSeenMs)];
    const byFingerprint = new Map<string, TelemetrySpan[]>();
    for (const span of spans) {
      const fingerprint = fingerprintFor(span).fingerprint;
      byFingerprint.set(fingerprint, [...(byFingerprint.get(fingerprint) ?? []), span]);
    }
    const parts = [...byFingerprint.values()];
    const shares = splitCount(
      row.count,
      parts.map((p) => p.length),
    );
    parts.forEach((part, index) => {
      const [first] = part;
      if (!first) return;
      const group = this.groupOf(first);
      this.absorb(group, first, shares[index] ?? 0, row.firstSeenMs, row.lastSeenMs);
      if (row.samples.length === 0) return;
      group.sampled = true;
      for (const span of part) {
        this.absorb(group, span, 0, row.firstSeenMs, row.lastSeenMs);
        keepLatestSamples(group.samples, span);
      }
    });
  }

  /**
   * A server-side group counted per cause (distinct message and stack): each cause is
   * fingerprinted like a span, so counts and first/last seen per fingerprint are the backend's
   * own, and two causes that share an exception type stay two groups. Samples join the
   * fingerprint they belong to; a cause with none among them keeps its message and stack as one.
   */
  private addCauses(row: AggregateRow, causes: CauseCounts[]): void {
    const parts = new Map<string, { span: TelemetrySpan; count: number; first: number; last: number }>();
    for (const cause of causes) {
      const span = describeFromKeys({ ...row.keys, ...cause.keys }, cause.lastSeenMs);
      const fingerprint = fingerprintFor(span).fingerprint;
      const part = parts.get(fingerprint);
      if (part) {
        part.count += cause.count;
        part.first = Math.min(part.first, cause.firstSeenMs);
        part.last = Math.max(part.last, cause.lastSeenMs);
      } else {
        parts.set(fingerprint, {
          span,
          count: cause.count,
          first: cause.firstSeenMs,
          last: cause.lastSeenMs,
        });
      }
    }
    // Past the per-group cause limit the backend's total is larger: share the rest by proportion.
    const counted = [...parts.values()].reduce((n, p) => n + p.count, 0);
    const rest = splitCount(
      Math.max(0, row.count - counted),
      [...parts.values()].map((p) => p.count),
    );
    const groups = new Map<string, ErrorGroup>();
    [...parts.entries()].forEach(([fingerprint, part], i) => {
      const group = this.groupOf(part.span);
      this.absorb(group, part.span, part.count + (rest[i] ?? 0), part.first, part.last);
      group.sampled = true;
      groups.set(fingerprint, group);
    });
    for (const span of row.samples) {
      const fingerprint = fingerprintFor(span).fingerprint;
      const part = parts.get(fingerprint);
      const group = groups.get(fingerprint);
      if (!part || !group) continue;
      this.absorb(group, span, 0, part.first, part.last);
      keepLatestSamples(group.samples, span);
    }
    for (const [fingerprint, part] of parts) {
      const group = groups.get(fingerprint);
      if (group && group.samples.length === 0) keepLatestSamples(group.samples, part.span);
    }
  }

  noteCommitSeen(commitSha: string, timeMs: number, service?: string): void {
    const seen = this.commitFirstSeen.get(commitSha);
    if (seen === undefined || timeMs < seen) this.commitFirstSeen.set(commitSha, timeMs);
    if (!service) return;
    const commits = this.serviceCommits.get(service) ?? new Map<string, number>();
    const first = commits.get(commitSha);
    if (first === undefined || timeMs < first) commits.set(commitSha, timeMs);
    this.serviceCommits.set(service, commits);
  }

  /** The commit the service ran before this one, in the data read: the start of the deploy range. */
  previousCommitOf(service: string, commitSha: string): string | null {
    const commits = this.serviceCommits.get(service);
    const ours = commits?.get(commitSha);
    if (!commits || ours === undefined) return null;
    let best: { sha: string; at: number } | null = null;
    for (const [sha, at] of commits) {
      if (at < ours && (!best || at > best.at)) best = { sha, at };
    }
    return best?.sha ?? null;
  }

  groups(): ErrorGroup[] {
    return [...this.byFingerprint.values()];
  }

  firstSeenOfCommit(commitSha: string): number | undefined {
    return this.commitFirstSeen.get(commitSha);
  }

  private groupOf(span: TelemetrySpan): ErrorGroup {
    const identity = fingerprintFor(span);
    let group = this.byFingerprint.get(identity.fingerprint);
    if (!group) {
      group = {
        ...identity,
        issueKey: null,
        repositoryUrl: null,
        environment: null,
        count: 0,
        firstSeenMs: Number.POSITIVE_INFINITY,
        lastSeenMs: Number.NEGATIVE_INFINITY,
        samples: [],
        traceLinks: [],
        sampled: false,
      };
      this.byFingerprint.set(identity.fingerprint, group);
    }
    return group;
  }

  private absorb(
    group: ErrorGroup,
    span: TelemetrySpan,
    count: number,
    firstMs: number,
    lastMs: number,
  ): void {
    group.count += count;
    group.firstSeenMs = Math.min(group.firstSeenMs, firstMs);
    group.lastSeenMs = Math.max(group.lastSeenMs, lastMs);
    group.issueKey ??= issueKeyOf(span);
    group.repositoryUrl ??= repositoryUrlOf(span);
    group.environment ??= environmentOf(span);
    if (
      span.traceUrl &&
      group.traceLinks.length < MAX_TRACE_LINKS &&
      !group.traceLinks.includes(span.traceUrl)
    ) {
      group.traceLinks.push(span.traceUrl);
    }
  }
}

/** Largest-remainder split of `total` by `weights`, so the parts are whole and sum to `total`. */
export function splitCount(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) return weights.map(() => 0);
  const exact = weights.map((w) => (total * w) / sum);
  const parts = exact.map(Math.floor);
  let left = total - parts.reduce((a, b) => a + b, 0);
  const order = exact
    .map((x, i) => [x - Math.floor(x), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, index] of order) {
    if (left <= 0) break;
    parts[index] = (parts[index] ?? 0) + 1;
    left -= 1;
  }
  return parts;
}

/** A stand-in span built from the group-by values when the backend gave no sample. */
function describeFromKeys(keys: Record<string, string>, timeMs: number): TelemetrySpan {
  return spanFromFields(keys, {
    traceId: "",
    spanId: "",
    name: keys.name ?? "",
    timeMs,
    isError: true,
    statusMessage: "",
  });
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
