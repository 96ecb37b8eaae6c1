import { type Comparison, compareCommits } from "../src/detectors/cost-regression/compare.ts";
import { regressionSettings } from "../src/detectors/cost-regression/settings.ts";
import { MetricCellFolder } from "../src/telemetry/metric-cells.ts";
import { type CommitRun, costSpans } from "../test/helpers/cost-spans.ts";

/**
 * False alarms and detection of the cost-regression test on seeded data, next to the trivial
 * baseline "flag when the per-unit ratio is ≥ 1.3" (no test). Each comparison is one ETL
 * operation, four tenants of different sizes, per-span log-normal noise of bytes per record,
 * the baseline commit the day before the window and the new commit inside it.
 */
export interface CostRow {
  scenario: string;
  sigma: number;
  spansPerSide: number;
  comparisons: number;
  ours: number;
  baseline: number;
}

const HOUR = 3_600_000;
const SINCE = Date.parse("2026-11-20T00:00:00Z");
const TENANTS = { acme: 400, globex: 120, initech: 50, umbrella: 900 };
const settings = regressionSettings({});
const metric = { name: "s3.bytes_scanned", per: "billing.record_count", usd: false };

function compareOnce(
  seed: number,
  sigma: number,
  perSide: number,
  after: Partial<CommitRun>,
  before: Partial<CommitRun> = {},
): Comparison | undefined {
  const spans = costSpans({
    tenants: TENANTS,
    sigma,
    seed,
    commits: [
      {
        sha: "b".repeat(40),
        fromMs: SINCE - 24 * HOUR,
        untilMs: SINCE,
        spans: perSide,
        perUnit: 1,
        ...before,
      },
      {
        sha: "a".repeat(40),
        fromMs: SINCE,
        untilMs: SINCE + 24 * HOUR,
        spans: perSide,
        perUnit: 1,
        ...after,
      },
    ],
  });
  const query = {
    metric: metric.name,
    per: metric.per,
    tenantKey: settings.tenantKey,
    sinceMs: SINCE - 8 * 24 * HOUR,
    untilMs: SINCE + 24 * HOUR,
    stepMs: settings.stepMs,
  };
  const folder = new MetricCellFolder(query);
  for (const span of spans) folder.add(span);
  return compareCommits(folder.result(), metric, settings, SINCE).comparisons.find(
    (c) => c.commitSha === "a".repeat(40),
  );
}

function row(
  scenario: string,
  sigma: number,
  perSide: number,
  runs: number,
  after: Partial<CommitRun>,
  before: Partial<CommitRun> = {},
): CostRow {
  let ours = 0;
  let baseline = 0;
  let comparisons = 0;
  for (let seed = 1; seed <= runs; seed++) {
    const c = compareOnce(seed * 7919 + perSide, sigma, perSide, after, before);
    if (!c) continue;
    comparisons += 1;
    if (c.flagged) ours += 1;
    if (c.ratio >= settings.minRatio) baseline += 1;
  }
  return { scenario, sigma, spansPerSide: perSide, comparisons, ours, baseline };
}

export function measureCostDetection(): { falseAlarms: CostRow[]; detection: CostRow[] } {
  const falseAlarms: CostRow[] = [];
  for (const sigma of [0.3, 0.6]) {
    for (const perSide of [30, 100]) falseAlarms.push(row("unchanged", sigma, perSide, 200, {}));
  }
  falseAlarms.push(row("volume ×2", 0.3, 30, 200, { volume: 2 }));
  falseAlarms.push(
    row("climb ×1.6/day through both commits", 0.3, 60, 200, { perUnit: 1.6, drift: 1.6 }, { drift: 1.6 }),
  );
  falseAlarms.push(row("drift ×2 inside the new commit only", 0.3, 60, 200, { drift: 2 }));
  falseAlarms.push(row("heavy noise", 1.2, 30, 200, {}));
  const detection: CostRow[] = [];
  for (const ratio of [1.3, 1.5, 2]) {
    for (const perSide of [30, 100]) {
      for (const sigma of [0.3, 0.6])
        detection.push(row(`×${ratio}`, sigma, perSide, 100, { perUnit: ratio }));
    }
  }
  return { falseAlarms, detection };
}

export function costLines(figures: { falseAlarms: CostRow[]; detection: CostRow[] } | undefined): string[] {
  if (!figures) return [];
  const line = (r: CostRow, rate: (n: number) => string) =>
    `  ${r.scenario.padEnd(38)} ${String(r.sigma).padEnd(6)} ${String(r.spansPerSide).padEnd(6)} ${String(r.comparisons).padEnd(12)} ${rate(r.ours).padEnd(10)} ${rate(r.baseline)}`;
  return [
    "Cost regressions: false alarms (flags over unchanged or innocent comparisons; ours vs ratio ≥ 1.3 alone)",
    "  scenario                               sigma  spans  comparisons  ours       baseline",
    ...figures.falseAlarms.map((r) => line(r, (n) => `${n}/${r.comparisons}`)),
    "Cost regressions: detection rate (ours vs ratio ≥ 1.3 alone)",
    "  regression                             sigma  spans  comparisons  ours       baseline",
    ...figures.detection.map((r) => line(r, (n) => `${Math.round((100 * n) / Math.max(1, r.comparisons))}%`)),
  ];
}
