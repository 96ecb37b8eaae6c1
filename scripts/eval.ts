/**
 * `npm run eval`: the analyst over the scenarios in fixtures/eval/. Offline analyst by default;
 * Claude when ANTHROPIC_API_KEY is set (ANTHROPIC_BASE_URL and TRIAGE_MODEL apply). Prints top-1
 * suspect accuracy and "no code cause" accuracy; `--json` prints the full results.
 */
import type { Analyst } from "../src/analysis/analysis.ts";
import { pricingFor, RunBudget } from "../src/analysis/budget.ts";
import { ClaudeAnalyst } from "../src/analysis/claude.ts";
import { OfflineAnalyst } from "../src/analysis/offline.ts";
import { DEFAULT_MODEL } from "../src/config-schema.ts";
import { runEval } from "./eval-runner.ts";

function chooseAnalyst(): Analyst {
  const apiKey = process.env.ANTHROPIC_API_KEY;
  if (!apiKey) return new OfflineAnalyst();
  const model = process.env.TRIAGE_MODEL || DEFAULT_MODEL;
  return new ClaudeAnalyst(
    {
      apiKey,
      baseUrl: process.env.ANTHROPIC_BASE_URL || null,
      model,
      maxOutputTokens: 4096,
      inputBudgetTokens: 25_000,
      diffTokenBudget: 12_000,
      timeoutMs: 120_000,
      retries: 2,
      cacheWarmup: true,
    },
    new RunBudget({ maxCostUsd: 5, maxCalls: 100 }, pricingFor(model)),
  );
}

const summary = await runEval(chooseAnalyst());
if (process.argv.includes("--json")) {
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
} else {
  const pct = (a: { correct: number; total: number }) =>
    `${a.correct}/${a.total} (${a.total ? Math.round((100 * a.correct) / a.total) : 0}%)`;
  const rows = summary.results.map(
    (r) =>
      `  ${r.correct ? "✓" : "✗"} ${r.name.padEnd(34)} expected ${String(r.expected ?? "no code cause").padEnd(48)} got ${r.predicted ?? r.verdict.replace(/_/g, " ")}${r.error ? ` (${r.error})` : ""}`,
  );
  process.stdout.write(
    `eval: ${summary.analyst} analyst over ${summary.scenarios} scenarios\n${rows.join("\n")}\n` +
      `top-1 suspect accuracy: ${pct(summary.suspectAccuracy)} (baseline "first frame on a changed file": ${pct(summary.baseline.suspectAccuracy)})\n` +
      `top-3: ${pct(summary.top3)} (baseline ${pct(summary.baseline.top3)}); on-stack bugs, right file: ${pct(summary.onStackAccuracy)} (baseline ${pct(summary.baseline.onStackAccuracy)})\n` +
      `deploys: the commit that introduced the bug named: ${pct(summary.commitAccuracy)} (baseline, always the running commit: ${pct(summary.baseline.commitAccuracy)})\n` +
      `correct verdicts overall: ${pct(summary.correctVerdicts)} (baseline ${pct(summary.baseline.correctVerdicts)})\n` +
      `no suspect where none was expected: ${pct(summary.noCodeCauseAccuracy)}\n` +
      `"no code cause" precision: ${pct(summary.noCodeCausePrecision)} (baseline: ${pct(summary.baseline.noCodeCausePrecision)}); "undetermined": ${summary.undetermined}\n`,
  );
}
process.exitCode = summary.results.some((r) => r.error) ? 1 : 0;
