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
 * - a drift guard: when the metric moves with time *inside* either commit (its own slope,
 *   significant at 1 %), the step is measured at the deploy instead: each commit's line is
 *   extrapolated to the deploy time and the two levels compared. A climb that spans the deploy,
 *   or one that starts after it, is then not blamed on the deploy; a step still is.
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

// Two-sided levels for "the metric trends inside the commits": one commit's own slope, or the
// slope both share. A false trend costs power (the step is then measured with more noise), a
// missed one a false alarm; the bench shows the balance.
const SIDE_DRIFT_ALPHA = 0.01;
const COMMON_DRIFT_ALPHA = 0.02;
const DAY_MS = 86_400_000;

export function stepTest(before: readonly Observation[], after: readonly Observation[]): StepTest | null {
  const centres = tenantCentres(before);
  const b = centred(before, centres);
  const a = centred(after, centres);
  if (b.length < 2 || a.length < 2) return null;
  const mb = mean(b.map((o) => o.y));
  const ma = mean(a.map((o) => o.y));
  const vb = variance(
    b.map((o) => o.y),
    mb,
  );
  const va = variance(
    a.map((o) => o.y),
    ma,
  );
  let diff = ma - mb;
  let se2 = va / a.length + vb / b.length;
  let df = welchDf(va, a.length, vb, b.length);
  let drift: StepTest["drift"] = null;

  // The step at the deploy, net of any trend inside either commit: each side's own line is
  // extrapolated to the deploy time and the two levels there are compared.
  const boundary = Math.min(...a.map((o) => o.t));
  const fits = [fitLine(b), fitLine(a)];
  const trending = fits.filter(
    (f): f is Line => f !== null && significant(f.slope, f.seSlope, f.df, SIDE_DRIFT_ALPHA),
  );
  const [fb, fa] = fits;
  // One trend through both commits is found with more power by their common slope.
  const common = fb && fa ? commonSlope(fb, fa) : null;
  const climbing = common !== null && significant(common.slope, common.se, common.df, COMMON_DRIFT_ALPHA);
  if ((trending.length > 0 || climbing) && fb && fa) {
    diff = fa.at(boundary) - fb.at(boundary);
    se2 = fa.varianceAt(boundary) + fb.varianceAt(boundary);
    df = Math.max(1, Math.min(fa.df, fb.df));
    const steepest = trending.sort(
      (x, y) => Math.abs(y.slope / y.seSlope) - Math.abs(x.slope / x.seSlope),
    )[0];
    drift = { perDay: Math.exp(steepest?.slope ?? common?.slope ?? 0), adjusted: true };
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

interface Line {
  slope: number;
  sxx: number;
  sxy: number;
  rss: number;
  n: number;
  seSlope: number;
  df: number;
  /** The fitted level at time t, and its variance. */
  at: (t: number) => number;
  varianceAt: (t: number) => number;
}

/** Least squares of y on time inside one commit; null when its cells all share one time. */
function fitLine(side: Centred[]): Line | null {
  const n = side.length;
  const mt = mean(side.map((o) => o.t));
  const my = mean(side.map((o) => o.y));
  let sxy = 0;
  let sxx = 0;
  for (const o of side) {
    sxy += (o.t - mt) * (o.y - my);
    sxx += (o.t - mt) ** 2;
  }
  if (sxx === 0 || n < 3) return null;
  const slope = sxy / sxx;
  const rss = side.reduce((r, o) => r + (o.y - my - slope * (o.t - mt)) ** 2, 0);
  const s2 = rss / (n - 2);
  return {
    slope,
    sxx,
    sxy,
    rss,
    n,
    seSlope: Math.sqrt(s2 / sxx),
    df: n - 2,
    at: (t) => my + slope * (t - mt),
    varianceAt: (t) => s2 * (1 / n + (t - mt) ** 2 / sxx),
  };
}

/** The slope both commits share (each about its own mean), with its standard error. */
function commonSlope(b: Line, a: Line): { slope: number; se: number; df: number } | null {
  const sxx = a.sxx + b.sxx;
  const df = a.n + b.n - 3;
  if (sxx === 0 || df <= 0) return null;
  const slope = (a.sxy + b.sxy) / sxx;
  // Residuals about the common slope: each side's own residuals plus what the shared slope misses.
  const rss = a.rss + b.rss + a.sxx * (a.slope - slope) ** 2 + b.sxx * (b.slope - slope) ** 2;
  return { slope, se: Math.sqrt(rss / df / sxx), df };
}

function significant(value: number, se: number, df: number, alpha: number): boolean {
  if (df <= 0) return false;
  if (se === 0) return value !== 0;
  return 2 * (1 - studentTCdf(Math.abs(value / se), df)) < alpha;
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
