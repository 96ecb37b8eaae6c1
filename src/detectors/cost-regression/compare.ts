import type { MetricCell } from "../../telemetry/source.ts";
import type { RegressionMetric, RegressionSettings } from "./settings.ts";
import { type Observation, type StepTest, stepTest } from "./significance.ts";

/** One tenant before and after, per unit of work. */
export interface TenantRow {
  id: string;
  before: number;
  after: number;
  ratio: number;
  countBefore: number;
  countAfter: number;
}

/** One commit of one service/operation compared with the commit that ran before it. */
export interface Comparison {
  service: string;
  operation: string;
  metric: string;
  per: string | null;
  usd: boolean;
  commitSha: string;
  issueKey: string;
  codePath: string;
  codeFunction: string;
  baseline: { commitSha: string; count: number; mean: number };
  current: { count: number; mean: number; firstMs: number; lastMs: number };
  /** Per-unit after / before, at the baseline's tenant mix. */
  ratio: number;
  tenants: TenantRow[];
  /** Tenants only seen after the change: no baseline to compare them with. */
  newTenants: number;
  test: StepTest;
  /** Extra of this metric per day at the new rate (USD when the metric is money). */
  extraPerDay: number;
  flagged: boolean;
}

export interface CompareOutcome {
  comparisons: Comparison[];
  /** Why commits or cells were left out, with how many: shown in the report, never silent. */
  skipped: Record<string, number>;
}

// Fewer cells than this on a side is too little to call anything: skipped and counted.
const MIN_CELLS = 3;
const DAY_MS = 86_400_000;

/**
 * Every commit that ran inside the window against the commit its service/operation ran before
 * it. Pure: the same cells always give the same comparisons.
 */
export function compareCommits(
  cells: readonly MetricCell[],
  metric: RegressionMetric,
  settings: Pick<RegressionSettings, "minRatio" | "alpha" | "stepMs">,
  windowSinceMs: number,
): CompareOutcome {
  const skipped: Record<string, number> = {};
  const skip = (reason: string, n = 1) => {
    skipped[reason] = (skipped[reason] ?? 0) + n;
  };
  const comparisons: Comparison[] = [];
  for (const opCells of groupBy(cells, (c) => `${c.service}\n${c.operation}`).values()) {
    const per = unitOf(opCells, metric.per);
    const usable = opCells.filter((c) => {
      if (per && c.perCount < c.count) {
        skip(`cells where some spans lacked ${per}`);
        return false;
      }
      if (per && !(c.perSum > 0)) {
        skip(`cells whose ${per} summed to 0`);
        return false;
      }
      return c.count > 0 && Number.isFinite(c.sum) && c.sum >= 0;
    });
    const commits = [...groupBy(usable, (c) => c.commitSha).entries()]
      .map(([sha, list]) => ({
        sha,
        cells: list,
        firstMs: Math.min(...list.map((c) => c.bucketMs)),
        lastMs: Math.max(...list.map((c) => c.bucketMs)) + settings.stepMs,
      }))
      .sort((a, b) => a.firstMs - b.firstMs || a.sha.localeCompare(b.sha));
    for (const [index, current] of commits.entries()) {
      if (current.lastMs <= windowSinceMs) continue;
      const earlier = commits.slice(0, index).filter((c) => c.firstMs < current.firstMs);
      const baseline = earlier.sort((a, b) => b.lastMs - a.lastMs)[0];
      if (!baseline) {
        skip("commits with no earlier commit of the same operation in the lookback");
        continue;
      }
      const before = baseline.cells.filter((c) => c.bucketMs < current.firstMs);
      const comparison = compare(before, current.cells, baseline.sha, per, metric, settings);
      if (!comparison) {
        skip(`commits with fewer than ${MIN_CELLS} observations on a side (a single sample is not evidence)`);
        continue;
      }
      comparisons.push(comparison);
    }
  }
  return { comparisons, skipped };
}

/** The configured unit when the operation's spans carry it, else per span. */
function unitOf(cells: readonly MetricCell[], per: string | null): string | null {
  if (!per) return null;
  return cells.some((c) => c.perCount > 0) ? per : null;
}

function compare(
  before: MetricCell[],
  after: MetricCell[],
  baselineSha: string,
  per: string | null,
  metric: RegressionMetric,
  settings: Pick<RegressionSettings, "minRatio" | "alpha">,
): Comparison | null {
  if (before.length < MIN_CELLS || after.length < MIN_CELLS) return null;
  const units = (c: MetricCell) => (per ? c.perSum : c.count);
  const floor = smallestPositiveRate([...before, ...after], units) / 2;
  const observe = (c: MetricCell): Observation => ({
    tenant: c.tenant,
    timeMs: c.bucketMs,
    // A cell that cost nothing (a cache hit) still counts, a little above zero for the logarithm.
    rate: Math.max(c.sum / units(c), floor),
  });
  const test = stepTest(before.map(observe), after.map(observe));
  if (!test) return null;
  const tenantsBefore = totalsByTenant(before, units);
  const tenantsAfter = totalsByTenant(after, units);
  const tenants: TenantRow[] = [];
  let atOldRates = 0;
  let atNewRates = 0;
  let extra = 0;
  for (const [id, a] of tenantsAfter) {
    const b = tenantsBefore.get(id);
    if (!b) continue;
    const rateBefore = b.sum / b.units;
    const rateAfter = a.sum / a.units;
    atOldRates += rateBefore * b.units;
    atNewRates += rateAfter * b.units;
    extra += (rateAfter - rateBefore) * a.units;
    tenants.push({
      id,
      before: rateBefore,
      after: rateAfter,
      ratio: rateBefore > 0 ? rateAfter / rateBefore : rateAfter > 0 ? Infinity : 1,
      countBefore: b.count,
      countAfter: a.count,
    });
  }
  if (tenants.length === 0) return null;
  tenants.sort((x, y) => y.ratio - x.ratio || x.id.localeCompare(y.id));
  const ratio = atOldRates > 0 ? atNewRates / atOldRates : atNewRates > 0 ? Infinity : 1;
  const first = after[0] as MetricCell;
  const currentFirst = Math.min(...after.map((c) => c.bucketMs));
  const currentLast = Math.max(...after.map((c) => c.bucketMs));
  const days = Math.max(1 / 24, (currentLast - currentFirst) / DAY_MS + 1 / 24);
  const sumOf = (list: MetricCell[], pick: (c: MetricCell) => number) =>
    list.reduce((n, c) => n + pick(c), 0);
  // "Large" is judged on the typical cell's factor (every cell counts once), not on the ratio at
  // the tenant mix, which the biggest tenant's few spans dominate.
  const large = test.geometricRatio >= settings.minRatio;
  return {
    service: first.service,
    operation: first.operation,
    metric: metric.name,
    per,
    usd: metric.usd,
    commitSha: first.commitSha,
    issueKey: after.find((c) => c.issueKey)?.issueKey ?? "",
    codePath: after.find((c) => c.codePath)?.codePath ?? "",
    codeFunction: after.find((c) => c.codeFunction)?.codeFunction ?? "",
    baseline: {
      commitSha: baselineSha,
      count: sumOf(before, (c) => c.count),
      mean: sumOf(before, (c) => c.sum) / sumOf(before, units),
    },
    current: {
      count: sumOf(after, (c) => c.count),
      mean: sumOf(after, (c) => c.sum) / sumOf(after, units),
      firstMs: currentFirst,
      lastMs: currentLast,
    },
    ratio,
    tenants,
    newTenants: [...tenantsAfter.keys()].filter((id) => !tenantsBefore.has(id)).length,
    test,
    extraPerDay: extra / days,
    flagged: large && test.pValue < settings.alpha,
  };
}

function smallestPositiveRate(cells: readonly MetricCell[], units: (c: MetricCell) => number): number {
  let smallest = Infinity;
  for (const c of cells) {
    const rate = c.sum / units(c);
    if (rate > 0 && rate < smallest) smallest = rate;
  }
  return Number.isFinite(smallest) ? smallest : 1;
}

function totalsByTenant(cells: readonly MetricCell[], units: (c: MetricCell) => number) {
  const totals = new Map<string, { sum: number; units: number; count: number }>();
  for (const c of cells) {
    const t = totals.get(c.tenant) ?? { sum: 0, units: 0, count: 0 };
    t.sum += c.sum;
    t.units += units(c);
    t.count += c.count;
    totals.set(c.tenant, t);
  }
  return totals;
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const list = groups.get(key);
    if (list) list.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
