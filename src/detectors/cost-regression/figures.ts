import type { Regression } from "./regression.ts";

/** 1234567 → "1.23M"; small and fractional values keep three significant digits. */
export function formatAmount(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  for (const [limit, suffix] of [
    [1e12, "T"],
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ] as const) {
    if (abs >= limit) return `${Number((value / limit).toPrecision(3))}${suffix}`;
  }
  return String(Number(value.toPrecision(3)));
}

export function formatUsd(value: number): string {
  return `$${value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(2) : value.toPrecision(2)}`;
}

export function unitOf(r: Pick<Regression, "metric" | "per">): string {
  return `${r.metric === "duration" ? "ms" : r.metric} ${r.per ? `per ${r.per}` : "per span"}`;
}

export function describeTest(r: Regression): string {
  const p = r.test.pValue < 1e-6 ? "< 1e-6" : r.test.pValue.toPrecision(2);
  const drift = r.test.drift
    ? `; a trend inside the commits (×${r.test.drift.perDay.toFixed(3)} a day) was taken out first`
    : "";
  return `one-sided Welch t-test on log per-unit rates, ${r.test.cells.before} vs ${r.test.cells.after} tenant × time-bucket cells, p ${p} (alpha ${r.test.alpha})${drift}`;
}

/** The figures as lines: the analyst's evidence, the prompt's facts, the ticket's summary. */
export function regressionFacts(r: Regression, commitSha: string | null): string[] {
  const worst = r.tenants.worst.map((t) => `${t.id} ×${t.ratio.toFixed(2)}`).join(", ");
  return [
    `${unitOf(r)} on ${r.operation}: ${formatAmount(r.baseline.mean)} on ${r.baseline.commitSha.slice(0, 7)} (${r.baseline.count} spans) → ${formatAmount(r.current.mean)} on ${(commitSha ?? "?").slice(0, 7)} (${r.current.count} spans), ×${r.ratio.toFixed(2)} at the baseline's tenant mix`,
    `tenants affected: ${r.tenants.affected} of ${r.tenants.total}${worst ? ` (worst: ${worst})` : ""}${r.tenants.new ? `; ${r.tenants.new} tenant(s) seen only after the change` : ""}`,
    `test: ${describeTest(r)}`,
    ...(r.extraCostUsdPerDay !== null
      ? [`estimated extra cost: ${formatUsd(r.extraCostUsdPerDay)} per day at the new rate`]
      : []),
    ...r.alsoRegressed.map((o) => `also regressed: ${unitOf(o)} ×${o.ratio.toFixed(2)}`),
    ...(r.code.path || r.code.function
      ? [`the operation's spans name ${[r.code.function, r.code.path].filter(Boolean).join(" in ")}`]
      : []),
  ];
}

/** Before/after per tenant, worst first, as a Markdown table. */
export function tenantTable(r: Regression, maxRows = 10): string[] {
  const rows = r.tenants.rows
    .slice(0, maxRows)
    .map(
      (t) =>
        `| ${cell(t.id || "(no tenant)")} | ${formatAmount(t.before)} | ${formatAmount(t.after)} | ×${t.ratio.toFixed(2)} | ${t.countBefore} → ${t.countAfter} |`,
    );
  const more =
    r.tenants.rows.length > maxRows ? [`| … ${r.tenants.rows.length - maxRows} more | | | | |`] : [];
  return [
    `| Tenant | Before (${unitOf(r)}) | After | Ratio | Spans |`,
    "|---|---:|---:|---:|---:|",
    ...rows,
    ...more,
  ];
}

/**
 * A Mermaid chart (renders in GitHub's step summary and Markdown): after as bars, before as a line,
 * because xychart draws a second bar series over the first.
 */
export function tenantChart(r: Regression, maxBars = 8): string[] {
  const rows = r.tenants.rows.slice(0, maxBars);
  if (rows.length === 0) return [];
  const label = (id: string) => JSON.stringify((id || "none").replace(/["\\\n`]/g, "_").slice(0, 20));
  const values = (pick: (t: (typeof rows)[number]) => number) =>
    rows.map((t) => Number(pick(t).toPrecision(4))).join(", ");
  const top = Math.max(...rows.flatMap((t) => [t.before, t.after]));
  return [
    "```mermaid",
    "xychart-beta",
    `    title "${unitOf(r).replace(/"/g, "'")}: after (bars), before (line)"`,
    `    x-axis [${rows.map((t) => label(t.id)).join(", ")}]`,
    `    y-axis "per unit" 0 --> ${Number((top * 1.1).toPrecision(3))}`,
    `    bar [${values((t) => t.after)}]`,
    `    line [${values((t) => t.before)}]`,
    "```",
  ];
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}
