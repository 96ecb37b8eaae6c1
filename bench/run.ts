/**
 * `npm run bench`: what the job exists for, measured in one run on this machine. Ratios are the
 * figures to compare; absolute times on shared machines are noisy. Writes bench/results.json.
 *
 * 1. File ingest: the OTLP file source over generated files (100k and 1M spans, ~1% errors):
 *    spans/s, peak RSS in its own process, and the ratio against jq selecting the error spans.
 * 2. End to end: 20 groups against the GitHub, Jira and Messages API fakes with 100 ms per request
 *    and 2 s per model call, under enforced model rate limits and GitHub's write pacing. The lower
 *    bound is the longest single group's chain measured alone, or the pacing of the writes made.
 * 3. Tokens: input per group, cache-read share, and prompt size as the diff grows 10 KB → 2 MB.
 * 4. Scale: 100 and 1,000 groups, each on its own commit of one local repository (offline analyst,
 *    dry run): wall time, peak RSS of the CLI process, and whether anything was warned on stderr.
 * 5. Redaction: false redactions per rule on ~30 MB of real code (node_modules as diffs), recall
 *    on the secret corpus, throughput; secretlint's preset alone as the baseline.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { billingRegressionSha } from "../scripts/demo-repo.ts";
import { buildPrompt, loadPrompt } from "../src/analysis/prompt.ts";
import { parseUnifiedDiff } from "../src/evidence/diff.ts";
import { scoreSuspects } from "../src/evidence/suspects.ts";
import { ReportSchema } from "../src/report/schema.ts";
import { startFakeAnthropic } from "../test/fakes/anthropic.ts";
import { carefulModel, liveEnv, manifest, startWorld } from "../test/harness/world.ts";
import { runCli } from "../test/helpers/cli.ts";
import { evidence } from "../test/helpers/evidence.ts";
import { rankedGroupsOf } from "../test/helpers/groups.ts";
import { exportRequest, jsonLines } from "../test/helpers/otlp.ts";
import { exceptionSpan, PRICING_STACK } from "../test/helpers/spans.ts";
import { costLines, measureCostDetection } from "./cost.ts";
import { generateSpans } from "./generate.ts";
import { measureRedaction, type RedactionFigures } from "./redaction.ts";
import { buildScaleNight } from "./scale.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "tracefix-bench-"));
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
// BENCH_ONLY=ingest|e2e|prompt|scale|cost|redaction runs one section (for iterating) and keeps the
// other sections of the last full run; the default runs all.
const only = process.env.BENCH_ONLY;
const results: Record<string, unknown> = {
  ...(only
    ? (JSON.parse(readFileSync(join(ROOT, "bench/results.json"), "utf8")) as Record<string, unknown>)
    : {}),
  machine: { cores: (await import("node:os")).cpus().length, node: process.version },
};
const run = (section: string) => !only || only === section;
// The provider's limits the night runs under: enforced by the fake and announced on every answer.
const MODEL_LIMITS = { requestsPerMinute: 50, inputTokensPerMinute: 30_000, outputTokensPerMinute: 100_000 };

try {
  // 1. File ingest
  const ingest = [];
  if (run("ingest")) {
    const hasJq = spawnSync("jq", ["--version"]).status === 0;
    for (const count of [100_000, 1_000_000]) {
      const file = join(work, `spans-${count}.jsonl`);
      log(`generating ${count} spans`);
      await generateSpans(file, count);
      const child = execFileSync(process.execPath, [join(ROOT, "bench/ingest-child.ts"), file], {
        encoding: "utf8",
        maxBuffer: 1 << 20,
      });
      const ours = JSON.parse(child) as {
        ms: number;
        spansRead: number;
        spansMatched: number;
        groups: number;
        maxRssMb: number;
      };
      let jq: { ms: number; errors: number } | null = null;
      if (hasJq) {
        const started = performance.now();
        const out = execFileSync(
          "bash",
          [
            "-c",
            `jq -c '.resourceSpans[].scopeSpans[].spans[] | select(.status.code == 2)' '${file}' | wc -l`,
          ],
          { encoding: "utf8" },
        );
        jq = { ms: performance.now() - started, errors: Number(out.trim()) };
      }
      ingest.push({
        spans: count,
        fileMb: Math.round(statSync(file).size / 1e5) / 10,
        ms: Math.round(ours.ms),
        spansPerSecond: Math.round(ours.spansRead / (ours.ms / 1000)),
        errorSpans: ours.spansMatched,
        groups: ours.groups,
        peakRssMb: Math.round(ours.maxRssMb),
        jqMs: jq ? Math.round(jq.ms) : null,
        jqErrorSpansAgree: jq ? jq.errors === ours.spansMatched : null,
        ratioVsJq: jq ? Math.round((ours.ms / jq.ms) * 100) / 100 : null,
      });
      rmSync(file, { force: true });
    }
  }
  results.ingest = ingest;

  // 2. End to end
  const spansFile = join(work, "e2e.jsonl");
  const t0 = Date.parse(manifest.window.since) + 7 * 3_600_000;
  const regression = billingRegressionSha(manifest);
  const previous = manifest.commits.at(-2)?.sha ?? "";
  const spans = [
    ...Array.from({ length: 5 }, (_, i) =>
      exceptionSpanOtlp(
        t0 + i,
        "TypeError",
        "Cannot read properties of undefined (reading 'X')",
        PRICING_STACK,
      ),
    ),
    ...Array.from({ length: 19 }, (_, g) =>
      Array.from({ length: 3 }, (_, i) =>
        exceptionSpanOtlp(
          t0 + 1000 * g + i,
          `Error${g}`,
          `failure ${g}`,
          `Error${g}: failure\n    at op${g} (/srv/billing-service/src/ops/op${g}.js:${g + 3}:1)`,
        ),
      ),
    ).flat(),
  ];
  writeFileSync(
    spansFile,
    jsonLines(
      exportRequest(
        {
          "service.name": "billing-service",
          "build.commit_sha": regression,
          "vcs.repository.url.full": "https://github.com/acme/billing-service",
        },
        spans.slice(0, 35),
      ),
      exportRequest({ "service.name": "billing-service", "build.commit_sha": previous }, spans.slice(35)),
    ),
  );
  const e2e = [];
  // Defaults first; then the model ceiling at the old fixed concurrency, and a cold cache.
  const setups = [
    { label: "defaults", modelCeiling: 32, cacheWarmup: true },
    { label: "model ceiling 4", modelCeiling: 4, cacheWarmup: true },
    { label: "no cache warm-up", modelCeiling: 32, cacheWarmup: false },
  ];
  for (const { label, modelCeiling, cacheWarmup } of run("e2e") ? setups : []) {
    const lower = await timedNight(spansFile, modelCeiling, cacheWarmup, 1);
    const full = await timedNight(spansFile, modelCeiling, cacheWarmup, 20);
    // GitHub paces writes (Octokit: 1 s apart): the night cannot end before its writes can.
    const pacingMs = Math.max(0, full.githubWrites - 1) * 1000;
    const bound = Math.max(lower.ms, pacingMs);
    e2e.push({
      label,
      modelCeiling,
      cacheWarmup,
      groups: full.groups,
      wallMs: full.ms,
      lowerBoundMs: bound,
      ratio: Math.round((full.ms / bound) * 100) / 100,
      overLimit: full.overLimit,
      peakInFlight: full.pace?.peakInFlight ?? null,
      writesPerPr: full.pullRequests > 0 ? full.githubWrites / full.pullRequests : null,
      requests: full.requests,
      inputTokensPerGroup: Math.round(full.usage.inputTokens / full.groups),
      cacheReadShare:
        Math.round(
          (full.usage.cacheReadTokens /
            Math.max(
              1,
              full.usage.inputTokens + full.usage.cacheReadTokens + full.usage.cacheCreationTokens,
            )) *
            100,
        ) / 100,
    });
  }
  // Batch mode: the same night through the Message Batches API (the fake ends a batch at once).
  let batch: Record<string, unknown> | null = null;
  if (run("e2e")) {
    const sync = await timedNight(spansFile, 32, true, 20);
    const batched = await timedNight(spansFile, 32, true, 20, true);
    batch = {
      syncCostUsd: sync.usage.costUsd,
      batchCostUsd: batched.usage.costUsd,
      costRatio: Math.round((batched.usage.costUsd / sync.usage.costUsd) * 1000) / 1000,
      byBatch: batched.batch?.byBatch ?? 0,
      bySync: batched.batch?.bySync ?? 0,
      savedUsd: batched.batch?.savedUsd ?? 0,
      overLimit: batched.overLimit,
    };
  }
  results.endToEnd = {
    latencyMs: { github: 100, jira: 100, model: 2000 },
    limits: MODEL_LIMITS,
    runs: e2e,
    batch,
  };

  // 3. Prompt size as the diff grows
  const template = loadPrompt("root-cause");
  const [group] = rankedGroupsOf([exceptionSpan("TypeError", "boom", PRICING_STACK)]);
  const prompts = [];
  for (const kb of run("prompt") ? [10, 100, 1_000, 2_000] : []) {
    const diff = syntheticDiff(kb * 1024);
    const files = parseUnifiedDiff(diff);
    const built = group
      ? buildPrompt(
          group,
          evidence({
            commit: { sha: "c".repeat(40), parents: [], author: "a", authoredAt: "", subject: "s" },
            files,
            suspects: scoreSuspects("c", files, group.samples),
          }),
          template,
          25_000,
          12_000,
        )
      : null;
    prompts.push({
      diffKb: kb,
      promptTokens: built?.estimatedInputTokens ?? 0,
      underBudget: (built?.estimatedInputTokens ?? Infinity) <= 25_000,
    });
  }
  results.prompt = { budgetTokens: 25_000, sizes: prompts };

  // 4. Scale
  const scale = [];
  // The offline analyst at 100 and 1,000 groups; then Claude (a fake that answers at once) at
  // 1,000, through the Messages API and as one Message Batch, which holds every group's evidence.
  const variants = [
    { groups: 100, analyst: "offline" },
    { groups: 1_000, analyst: "offline" },
    { groups: 1_000, analyst: "claude" },
    { groups: 1_000, analyst: "claude --batch" },
  ] as const;
  for (const { groups, analyst } of run("scale") ? variants : []) {
    const dir = join(work, `scale-${groups}`);
    log(`scale: building ${groups} commits and their spans (${analyst})`);
    const night = buildScaleNight(dir, groups);
    const rssFile = join(dir, "rss.json");
    const claude =
      analyst === "offline" ? null : await startFakeAnthropic({ apiKey: "sk-bench", respond: carefulModel });
    const started = performance.now();
    const result = await runCli(
      [
        "--input",
        night.spansFile,
        "--since",
        night.since,
        "--until",
        night.until,
        "--repo-dir",
        night.repoDir,
        "--limit",
        String(groups),
        "--dry-run",
        "--json",
        "--out",
        join(dir, "out"),
        ...(analyst === "claude --batch" ? ["--batch"] : []),
      ],
      {
        cwd: dir,
        env: {
          TRACEFIX_BENCH_RSS_FILE: rssFile,
          ...(claude ? { ANTHROPIC_API_KEY: "sk-bench", ANTHROPIC_BASE_URL: claude.url } : {}),
        },
        nodeOptions: ["--import", join(ROOT, "bench/peak-rss.ts")],
      },
    );
    await claude?.close();
    const ms = Math.round(performance.now() - started);
    const report = ReportSchema.parse(JSON.parse(result.stdout));
    const { maxRssMb } = JSON.parse(readFileSync(rssFile, "utf8")) as { maxRssMb: number };
    scale.push({
      groups,
      analyst,
      analysed: report.totals.groupsAnalysed,
      wallMs: ms,
      msPerGroup: Math.round((ms / groups) * 10) / 10,
      peakRssMb: Math.round(maxRssMb),
      stderrWarnings: result.stderr.split("\n").filter((l) => /warning/i.test(l)).length,
      redactions: report.redactions.total,
    });
    rmSync(dir, { recursive: true, force: true });
  }
  results.scale = scale;

  // 5. Redaction
  if (run("cost")) {
    log("cost: false alarms and detection of the cost-regression test");
    results.cost = measureCostDetection();
  }

  if (run("redaction")) {
    log("redaction: measuring on node_modules");
    results.redaction = await measureRedaction(join(ROOT, "node_modules"), 60);
  }

  writeFileSync(join(ROOT, "bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);
  print(results);
} finally {
  rmSync(work, { recursive: true, force: true });
}

function demoArgsFor(spansFile: string): string[] {
  return ["--input", spansFile, "--since", manifest.window.since, "--until", manifest.window.until];
}

function exceptionSpanOtlp(startMs: number, type: string, message: string, stack: string) {
  return {
    startMs,
    status: { code: 2, message },
    attributes: { "exception.type": type, "exception.message": message, "exception.stacktrace": stack },
  };
}

async function timedNight(
  spansFile: string,
  modelCeiling: number,
  cacheWarmup: boolean,
  limit: number,
  batch = false,
) {
  // Timeouts well above the simulated latencies: the bench measures waiting, not failing.
  const world = await startWorld({
    respond: carefulModel,
    limits: MODEL_LIMITS,
    config: {
      // GitHub's own pacing of writes, as a real night has it.
      github: { throttle: true },
      telemetry: { timeoutMs: 10_000, retries: 1, maxRetryDelayMs: 50 },
      analysis: { timeoutMs: 30_000, retries: 1, cacheWarmup, maxConcurrency: modelCeiling, batch },
    },
  });
  try {
    world.github.latency(100);
    world.jira.latency(100);
    world.claude.latency(2000);
    // An async spawn: the fakes live in this process, so a blocking spawnSync would stall them.
    const started = performance.now();
    const result = await runCli(
      [...demoArgsFor(spansFile), "--limit", String(limit), "--json", "--out", join(world.dir, "out")],
      { cwd: world.dir, env: liveEnv(world.github, world.jira, world.claude) },
    );
    const ms = Math.round(performance.now() - started);
    const report = ReportSchema.parse(JSON.parse(result.stdout));
    const prs = report.groups
      .flatMap((g) => g.actions)
      .filter((a) => a.kind === "pull_request" && a.status === "created");
    return {
      ms,
      groups: report.groups.length,
      usage: report.usage,
      pace: report.analyst.pace,
      batch: report.analyst.batch,
      overLimit: world.claude.overLimit,
      githubWrites: world.github.requests.filter((r) => r.method !== "GET").length,
      pullRequests: prs.length,
      requests: {
        github: world.github.requests.length,
        jira: world.jira.requests.length,
        model: world.claude.requests.length,
      },
    };
  } finally {
    await world.close();
  }
}

function syntheticDiff(bytes: number): string {
  const head =
    "diff --git a/src/pricing.js b/src/pricing.js\n--- a/src/pricing.js\n+++ b/src/pricing.js\n@@ -5,2 +5,3 @@\n export function applyDiscount(subtotalCents, customer) {\n+  const discount = customer.discounts[customer.discountCode];\n   if (!discount) return subtotalCents;\n";
  const parts = [head];
  let size = head.length;
  for (let f = 0; size < bytes; f++) {
    const body = Array.from({ length: 40 }, (_, i) => `+export const value${i} = "${"z".repeat(40)}";`).join(
      "\n",
    );
    const chunk = `diff --git a/gen/f${f}.js b/gen/f${f}.js\n--- a/gen/f${f}.js\n+++ b/gen/f${f}.js\n@@ -1,0 +1,40 @@\n${body}\n`;
    parts.push(chunk);
    size += chunk.length;
  }
  return parts.join("");
}

function batchLine(b: Record<string, unknown> | null | undefined): string[] {
  if (!b) return [];
  return [
    `  --batch: model cost $${b.batchCostUsd} vs $${b.syncCostUsd} synchronous (${b.costRatio}×); ${b.byBatch} group(s) by batch, ${b.bySync} by Messages; 429s ${b.overLimit}`,
  ];
}

function redactionLines(f: RedactionFigures | undefined): string[] {
  if (!f) return [];
  const missed = f.recall.filter((x) => x.found < x.total);
  return [
    `Redaction (${f.corpusMb} MB of real code in ${f.files} files, as diffs; ${f.throughputMbPerS} MB/s)`,
    "  rule                findings  false  false/MB",
    ...f.byRule.map(
      (x) =>
        `  ${x.rule.padEnd(19)} ${String(x.findings).padEnd(9)} ${String(x.falseFindings).padEnd(6)} ${x.falsePerMb}`,
    ),
    `  false redactions per 10 MB: ${f.falsePer10Mb} (secretlint preset alone: ${f.baselineSecretlintOnlyPer10Mb})`,
    `  recall on the secret corpus: ${f.recallOverall} (secretlint preset alone: ${f.baselineSecretlintOnlyRecall})${missed.length ? `; missed: ${missed.map((m) => m.kind).join(", ")}` : ""}`,
    ...f.unreviewed.map((u) => `  unreviewed: ${u}`),
  ];
}

function print(r: Record<string, unknown>) {
  const ingest = r.ingest as Array<Record<string, unknown>>;
  const e2e = (r.endToEnd as { runs: Array<Record<string, unknown>> }).runs;
  const prompt = (r.prompt as { sizes: Array<Record<string, unknown>> }).sizes;
  const lines = [
    "File ingest (OTLP file source, own process)",
    "  spans      file MB  ms      spans/s   peak RSS MB  jq ms   ours/jq",
    ...ingest.map(
      (i) =>
        `  ${String(i.spans).padEnd(10)} ${String(i.fileMb).padEnd(8)} ${String(i.ms).padEnd(7)} ${String(i.spansPerSecond).padEnd(9)} ${String(i.peakRssMb).padEnd(12)} ${String(i.jqMs ?? "n/a").padEnd(7)} ${i.ratioVsJq ?? "n/a"}`,
    ),
    "End to end (20 groups; 100 ms per GitHub/Jira request, 2 s per model call; model limits 50 requests,",
    "  30k input and 100k output tokens a minute, enforced; GitHub's write pacing on)",
    "  setup             wall ms  lower bound ms  ratio  429s  peak in flight  writes/PR  requests (github/jira/model)  input tok/group  cache-read share",
    ...e2e.map((e) => {
      const req = e.requests as Record<string, number>;
      return `  ${String(e.label).padEnd(17)} ${String(e.wallMs).padEnd(8)} ${String(e.lowerBoundMs).padEnd(15)} ${String(e.ratio).padEnd(6)} ${String(e.overLimit).padEnd(5)} ${String(e.peakInFlight).padEnd(15)} ${String(e.writesPerPr).padEnd(10)} ${`${req.github}/${req.jira}/${req.model}`.padEnd(29)} ${String(e.inputTokensPerGroup).padEnd(16)} ${e.cacheReadShare}`;
    }),
    ...batchLine((r.endToEnd as { batch?: Record<string, unknown> | null }).batch),
    "Prompt size as the diff grows (budget 25000 tokens)",
    ...prompt.map(
      (p) =>
        `  diff ${String(p.diffKb).padStart(5)} KB → prompt ${p.promptTokens} tokens${p.underBudget ? "" : "  OVER BUDGET"}`,
    ),
    "Scale (one commit per group, local repository, dry run)",
    "  groups  analyst          wall ms  ms/group  peak RSS MB  analysed  warnings on stderr",
    ...(r.scale as Array<Record<string, unknown>>).map(
      (x) =>
        `  ${String(x.groups).padEnd(7)} ${String(x.analyst ?? "offline").padEnd(16)} ${String(x.wallMs).padEnd(8)} ${String(x.msPerGroup).padEnd(9)} ${String(x.peakRssMb).padEnd(12)} ${String(x.analysed).padEnd(9)} ${x.stderrWarnings}`,
    ),
    ...costLines(r.cost as Parameters<typeof costLines>[0]),
    ...redactionLines(r.redaction as RedactionFigures | undefined),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}
