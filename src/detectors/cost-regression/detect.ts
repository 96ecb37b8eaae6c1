import type { ErrorGroup } from "../../grouping/collector.ts";
import { metricFingerprint } from "../../grouping/fingerprint.ts";
import { usableCommitSha, usableIssueKey } from "../../telemetry/conventions.ts";
import type { MetricCell, TelemetrySource } from "../../telemetry/source.ts";
import type { Detector, DetectorInput, DetectorRun } from "../detector.ts";
import { type Comparison, compareCommits } from "./compare.ts";
import type { CostCheck, Regression } from "./regression.ts";
import type { RegressionSettings } from "./settings.ts";

const WORST_TENANTS = 5;

/**
 * cost_regression: numeric span attributes that got worse per unit of work after a commit, with
 * no error anywhere. One aggregate query per metric and source; the comparison and its test run
 * here on the returned cells.
 */
export class CostRegressionDetector implements Detector<CostCheck> {
  readonly name = "cost_regression";
  private readonly settings: RegressionSettings;

  constructor(settings: RegressionSettings) {
    this.settings = settings;
  }

  async detect({ sources, window, info, noteCommitSeen }: DetectorInput): Promise<DetectorRun<CostCheck>> {
    const s = this.settings;
    const summary: CostCheck = {
      enabled: s.enabled,
      metrics: s.metrics.map((m) => ({ name: m.name, per: m.per })),
      test: { name: "welch-t-log-rate", alpha: s.alpha, minRatio: s.minRatio },
      lookbackDays: s.lookbackMs / 86_400_000,
      comparisons: 0,
      flagged: 0,
      skipped: {},
      failed: [],
      partial: [],
      requests: 0,
    };
    if (!s.enabled || sources.length === 0) return { groups: [], summary };
    // Every metric's query at once: a file source then reads its file once for all of them.
    const measured = await Promise.all(
      s.metrics.map((metric) =>
        this.measure(sources, metric.name, metric.per, window.sinceMs, window.untilMs, summary),
      ),
    );
    const all: Comparison[] = [];
    s.metrics.forEach((metric, i) => {
      const cells = measured[i] ?? [];
      for (const cell of cells) noteCommitSeen(cell.commitSha, cell.bucketMs, cell.service);
      const outcome = compareCommits(cells, metric, s, window.sinceMs);
      for (const [reason, n] of Object.entries(outcome.skipped))
        summary.skipped[reason] = (summary.skipped[reason] ?? 0) + n;
      all.push(...outcome.comparisons);
    });
    summary.comparisons = all.length;
    const groups = toGroups(all, s);
    summary.flagged = groups.length;
    info(
      `cost check: ${all.length} commit comparison(s) over ${s.metrics.length} metric(s), ${groups.length} regression(s) flagged`,
    );
    return { groups, summary };
  }

  private async measure(
    sources: readonly TelemetrySource[],
    metric: string,
    per: string | null,
    sinceMs: number,
    untilMs: number,
    summary: CostCheck,
  ): Promise<MetricCell[]> {
    // Buckets start on multiples of the step, so every source cuts time the same way.
    const start =
      Math.floor((sinceMs - this.settings.lookbackMs) / this.settings.stepMs) * this.settings.stepMs;
    const merged = new Map<string, MetricCell>();
    await Promise.all(
      sources.map(async (source) => {
        try {
          const query = {
            metric,
            per,
            tenantKey: this.settings.tenantKey,
            sinceMs: start,
            untilMs,
            stepMs: this.settings.stepMs,
          };
          let result = await source.measure(query);
          // A backend that has never seen the unit of work cannot filter on it: compare per span.
          if (result.unknownKey && per) result = await source.measure({ ...query, per: null });
          summary.requests += result.requests;
          if (result.unknownKey) {
            const reason = `metric queries a source answered "no such attribute" (${source.name}: ${metric}${per ? ` or ${per}` : ""})`;
            summary.skipped[reason] = (summary.skipped[reason] ?? 0) + 1;
          }
          if (result.notNumeric > 0) {
            const reason = `spans whose ${metric} was not a number`;
            summary.skipped[reason] = (summary.skipped[reason] ?? 0) + result.notNumeric;
          }
          for (const problem of result.problems)
            summary.partial.push({ source: source.name, metric, message: problem.message });
          for (const cell of result.cells) {
            const sha = usableCommitSha(cell.commitSha);
            if (!sha) {
              const reason = "spans without a usable build.commit_sha";
              summary.skipped[reason] = (summary.skipped[reason] ?? 0) + cell.count;
              continue;
            }
            mergeCell(merged, { ...cell, commitSha: sha, issueKey: usableIssueKey(cell.issueKey) ?? "" });
          }
        } catch (error) {
          summary.failed.push({
            source: source.name,
            metric,
            message: error instanceof Error ? error.message : String(error),
          });
        }
      }),
    );
    return [...merged.values()];
  }
}

/** Sources that saw the same spans' aggregates add up, as error groups do. */
function mergeCell(merged: Map<string, MetricCell>, cell: MetricCell): void {
  const key = [cell.service, cell.operation, cell.commitSha, cell.tenant, cell.bucketMs].join("\n");
  const existing = merged.get(key);
  if (!existing) {
    merged.set(key, { ...cell });
    return;
  }
  existing.count += cell.count;
  existing.sum += cell.sum;
  existing.perSum += cell.perSum;
  existing.perCount += cell.perCount;
  existing.codePath ||= cell.codePath;
  existing.codeFunction ||= cell.codeFunction;
  existing.issueKey ||= cell.issueKey;
}

/**
 * One group per operation and commit: the first flagged metric in the configured order names it
 * (so the fingerprint is stable night to night); the others are listed with it.
 */
function toGroups(comparisons: readonly Comparison[], settings: RegressionSettings): ErrorGroup[] {
  const order = settings.metrics.map((m) => m.name);
  const byChange = new Map<string, Comparison[]>();
  for (const c of comparisons) {
    const key = `${c.service}\n${c.operation}\n${c.commitSha}`;
    byChange.set(key, [...(byChange.get(key) ?? []), c]);
  }
  const groups: ErrorGroup[] = [];
  for (const list of byChange.values()) {
    const flagged = list
      .filter((c) => c.flagged)
      .sort((a, b) => order.indexOf(a.metric) - order.indexOf(b.metric));
    const primary = flagged[0];
    if (!primary) continue;
    const money = list.find((c) => c.usd);
    groups.push(toGroup(primary, flagged.slice(1), money ? Math.max(0, money.extraPerDay) : null, settings));
  }
  return groups;
}

function toGroup(
  c: Comparison,
  others: Comparison[],
  extraUsd: number | null,
  settings: RegressionSettings,
): ErrorGroup & { regression: Regression } {
  const { fingerprint, slug } = metricFingerprint(c);
  const unit = c.per ? `per ${c.per}` : "per span";
  const affected = c.tenants.filter((t) => t.ratio >= settings.minRatio);
  const regression: Regression = {
    operation: c.operation,
    metric: c.metric,
    per: c.per,
    baseline: c.baseline,
    current: { count: c.current.count, mean: c.current.mean },
    ratio: c.ratio,
    tenants: {
      affected: affected.length,
      total: c.tenants.length,
      worst: affected.slice(0, WORST_TENANTS).map((t) => ({ id: t.id, ratio: t.ratio })),
      rows: c.tenants,
      new: c.newTenants,
    },
    extraCostUsdPerDay: extraUsd,
    test: { ...c.test, alpha: settings.alpha },
    alsoRegressed: others.map((o) => ({ metric: o.metric, per: o.per, ratio: o.ratio })),
    code: { path: c.codePath, function: c.codeFunction },
  };
  const title = `${c.metric} ${unit} ×${c.ratio.toFixed(2)} on ${c.operation} after ${c.commitSha.slice(0, 7)} (${affected.length} of ${c.tenants.length} tenants)`;
  return {
    fingerprint,
    slug,
    title,
    kind: "cost_regression",
    service: c.service,
    commitSha: c.commitSha,
    grouping: {
      version: 1,
      basis: "metric_step",
      exceptionType: null,
      frame: c.codeFunction || null,
      message: `${c.metric} ${unit}`,
    },
    issueKey: c.issueKey || null,
    repositoryUrl: null,
    environment: null,
    count: c.current.count,
    firstSeenMs: c.current.firstMs,
    lastSeenMs: c.current.lastMs + settings.stepMs - 1,
    samples: [
      {
        traceId: "",
        spanId: "",
        name: c.operation,
        timeMs: c.current.lastMs,
        exceptionType: null,
        message: title,
        stacktrace: "",
        attributes: {
          ...(c.codePath ? { "code.filepath": c.codePath } : {}),
          ...(c.codeFunction ? { "code.function": c.codeFunction } : {}),
        },
      },
    ],
    traceLinks: [],
    sampled: true,
    // Ranked with error groups by the cost it adds (USD/day when known, else the extra work).
    impact: impactOf(c, extraUsd),
    regression,
  };
}

/**
 * An equivalent count for ranking: log2(1 + impact) like error counts. A failed request is worse
 * than a slower or dearer one, so a dollar a day of extra spend weighs as one error, and without
 * a price ten spans' worth of extra work (spans × (ratio − 1) / 10) weigh as one.
 */
export function impactOf(c: Pick<Comparison, "current" | "ratio">, extraUsdPerDay: number | null): number {
  if (extraUsdPerDay !== null && extraUsdPerDay > 0) return extraUsdPerDay;
  return (c.current.count * Math.max(0, Math.min(c.ratio, 100) - 1)) / 10;
}
