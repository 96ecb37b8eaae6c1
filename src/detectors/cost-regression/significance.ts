/**
 * The test behind a cost-regression flag. The backends return sums and counts per group and time
 * bucket, never single spans, so the observations are cells: one tenant in one bucket, valued at
 * its per-unit rate (sum of the metric / sum of the units). On those:
 *
 * - log rates, because costs are positive and change by factors;
 * - centred on each tenant's own baseline mean, so a tenant that sends more records, or a night
 *   with a different tenant mix, does not look like a change (only tenants seen on both sides count);
 * - Welch's t-test, one-sided (only increases are regressions), because the two commits' spread
 *   can differ;
 * - a drift guard: when the metric moves with time *inside* the commits (a slope fitted within
 *   each commit, pooled, significant at 1 %), the step is measured net of that trend, so a slow
 *   climb that spans the deploy is not blamed on it.
 *
 * Percentiles cannot be combined across cells, so the test uses means only.
 */

export interface Observation {
  tenant: string;
  timeMs: number;
  /** Per-unit rate of one cell; must be > 0 and finite. */
  rate: number;
}

export interface StepTest {
  name: "welch-t-log-rate";
  /** Cells compared on each side (tenants seen on both sides only). */
  cells: { before: number; after: number };
  /** exp(mean log-rate difference): the typical per-cell factor. */
  geometricRatio: number;
  t: number;
  df: number;
  pValue: number;
  /** Set when a within-commit trend was significant and the step was measured net of it. */
  drift: { perDay: number; adjusted: true } | null;
}

const DRIFT_ALPHA = 0.01;
const DAY_MS = 86_400_000;

export function stepTest(before: readonly Observation[], after: readonly Observation[]): StepTest | null {
  const centres = tenantCentres(before);
  const b = centred(before, centres);
  const a = centred(after, centres);
  if (b.length < 2 || a.length < 2) return null;
  const mb = mean(b.map((o) => o.y));
  const ma = mean(a.map((o) => o.y));
  const vb = variance(b.map((o) => o.y), mb);
  const va = variance(a.map((o) => o.y), ma);
  let diff = ma - mb;
  let se2 = va / a.length + vb / b.length;
  let df = welchDf(va, a.length, vb, b.length);
  let drift: StepTest["drift"] = null;

  const slope = pooledSlope([b, a]);
  if (slope && slope.df > 0) {
    const tSlope = slope.se > 0 ? slope.value / slope.se : slope.value === 0 ? 0 : Infinity;
    if (2 * (1 - studentTCdf(Math.abs(tSlope), slope.df)) < DRIFT_ALPHA) {
      const gap = mean(a.map((o) => o.t)) - mean(b.map((o) => o.t));
      diff -= slope.value * gap;
      se2 += gap * gap * slope.se * slope.se;
      df = Math.max(1, Math.min(df, slope.df));
      drift = { perDay: Math.exp(slope.value) , adjusted: true };
    }
  }
  const se = Math.sqrt(se2);
  const t = se > 0 ? diff / se : diff > 0 ? Infinity : diff < 0 ? -Infinity : 0;
  const pValue = se > 0 ? 1 - studentTCdf(t, df) : diff > 0 ? 0 : 1;
  return {
    name: "welch-t-log-rate",
    cells: { before: b.length, after: a.length },
    geometricRatio: Math.exp(diff),
    t: Number.isFinite(t) ? t : t > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE,
    df,
    pValue,
    drift,
  };
}

interface Centred {
  y: number;
  /** Days since the epoch: slopes read per day. */
  t: number;
}

function tenantCentres(before: readonly Observation[]): Map<string, number> {
  const sums = new Map<string, { total: number; n: number }>();
  for (const o of before) {
    const s = sums.get(o.tenant) ?? { total: 0, n: 0 };
    s.total += Math.log(o.rate);
    s.n += 1;
    sums.set(o.tenant, s);
  }
  return new Map([...sums].map(([tenant, s]) => [tenant, s.total / s.n]));
}

function centred(observations: readonly Observation[], centres: Map<string, number>): Centred[] {
  return observations.flatMap((o) => {
    const centre = centres.get(o.tenant);
    if (centre === undefined || !(o.rate > 0) || !Number.isFinite(o.rate)) return [];
    return [{ y: Math.log(o.rate) - centre, t: o.timeMs / DAY_MS }];
  });
}

/** The slope of y on time fitted inside each commit, pooled (the ANCOVA common slope). */
function pooledSlope(sides: Centred[][]): { value: number; se: number; df: number } | null {
  let sxy = 0;
  let sxx = 0;
  let n = 0;
  const fitted: Array<{ side: Centred[]; my: number; mt: number }> = [];
  for (const side of sides) {
    const mt = mean(side.map((o) => o.t));
    const my = mean(side.map((o) => o.y));
    for (const o of side) {
      sxy += (o.t - mt) * (o.y - my);
      sxx += (o.t - mt) ** 2;
    }
    n += side.length;
    fitted.push({ side, my, mt });
  }
  if (sxx === 0) return null;
  const value = sxy / sxx;
  let rss = 0;
  for (const { side, my, mt } of fitted) {
    for (const o of side) rss += (o.y - my - value * (o.t - mt)) ** 2;
  }
  const df = n - sides.length - 1;
  if (df <= 0) return null;
  return { value, se: Math.sqrt(rss / df / sxx), df };
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

function variance(values: readonly number[], m: number): number {
  return values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1);
}

function welchDf(va: number, na: number, vb: number, nb: number): number {
  const qa = va / na;
  const qb = vb / nb;
  const den = (qa * qa) / (na - 1) + (qb * qb) / (nb - 1);
  return den > 0 ? (qa + qb) ** 2 / den : na + nb - 2;
}

/**
 * Student's t CDF through the regularised incomplete beta function. Written here rather than
 * installed: the maintained single-purpose package (@stdlib's t CDF) brings 220 packages with it.
 */
export function studentTCdf(t: number, df: number): number {
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const x = df / (df + t * t);
  const tail = 0.5 * regularisedBeta(x, df / 2, 0.5);
  return t > 0 ? 1 - tail : tail;
}

function regularisedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  // The continued fraction converges fast on this side of the mean; use symmetry on the other.
  if (x < (a + 1) / (a + b + 2)) return (front * betaFraction(x, a, b)) / a;
  return 1 - (front * betaFraction(1 - x, b, a)) / b;
}

/** Lentz's method for the incomplete beta continued fraction. */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    for (const aa of [
      (m * (b - m) * x) / ((a + m2 - 1) * (a + m2)),
      (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1)),
    ]) {
      d = 1 + aa * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + aa / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-14) break;
  }
  return h;
}

/** Lanczos approximation (g = 7, 9 terms): 15 significant digits for positive arguments. */
function logGamma(z: number): number {
  const g = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const x = z - 1;
  let sum = g[0] as number;
  for (let i = 1; i < 9; i++) sum += (g[i] as number) / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(sum);
}
