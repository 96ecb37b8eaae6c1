import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildDemoRepo, DEMO_DIR, readDemoManifest } from "../../scripts/demo-repo.ts";
import { GroupCollector } from "../../src/grouping/collector.ts";
import { type Report, ReportSchema } from "../../src/report/schema.ts";
import { HoneycombSource } from "../../src/telemetry/honeycomb.ts";
import { UsageError } from "../../src/usage-error.ts";
import { type FakeHoneycomb, type FakeHoneycombOptions, startFakeHoneycomb } from "../fakes/honeycomb.ts";
import { startFakeSignoz } from "../fakes/signoz.ts";
import { loadSpans } from "../fakes/span-store.ts";
import { runCli } from "../helpers/cli.ts";
import { span } from "../helpers/spans.ts";

const KEY = "hc-test-key";
const DATASET = "prod-traces";
const manifest = readDemoManifest();
const FIXTURE = join(DEMO_DIR, "telemetry.jsonl");
const WINDOW = { sinceMs: Date.parse(manifest.window.since), untilMs: Date.parse(manifest.window.until) };
const FAST = { timeoutMs: 5_000, retries: 3, maxRetryDelayMs: 100, sampleGroups: 40 };

function comparable(report: Report) {
  return report.groups
    .map((g) => ({
      fingerprint: g.fingerprint,
      kind: g.kind,
      service: g.service,
      commitSha: g.commitSha,
      count: g.count,
      newCommit: g.newCommit,
    }))
    .sort((a, b) => a.fingerprint.localeCompare(b.fingerprint));
}

describe("Honeycomb source through the CLI", () => {
  let dir = "";
  let fake: FakeHoneycomb;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tracefix-honeycomb-"));
    buildDemoRepo(join(dir, "repo"));
    writeFileSync(
      join(dir, "triage.config.json"),
      JSON.stringify({ telemetry: FAST, regressions: { enabled: false }, agents: { enabled: false } }),
    );
    fake = await startFakeHoneycomb({ apiKey: KEY, dataset: DATASET, spans: loadSpans(FIXTURE) });
  });
  afterAll(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const env = () => ({ HONEYCOMB_API_URL: fake.url, HONEYCOMB_API_KEY: KEY, HONEYCOMB_DATASET: DATASET });
  const common = [
    "--since",
    manifest.window.since,
    "--until",
    manifest.window.until,
    "--repo-dir",
    "repo",
    "--dry-run",
    "--json",
    "--limit",
    "50",
  ];

  it("finds the same groups as the file source given the same spans, with permalinks", async () => {
    const fromFile = await runCli(["--input", FIXTURE, "--out", "out-file", ...common], { cwd: dir });
    const fromHoneycomb = await runCli(["--source", "honeycomb", "--out", "out-hc", ...common], {
      cwd: dir,
      env: env(),
    });
    expect(fromHoneycomb.stderr).not.toMatch(/warning/);
    expect(fromHoneycomb.code).toBe(0);
    const file = ReportSchema.parse(JSON.parse(fromFile.stdout));
    const honeycomb = ReportSchema.parse(JSON.parse(fromHoneycomb.stdout));
    expect(comparable(honeycomb)).toEqual(comparable(file));
    const regression = honeycomb.groups[0];
    expect(regression?.suspects[0]).toMatchObject({ path: "src/pricing.js", line: 7 });
    expect(regression?.links.traces[0]).toMatch(
      /\/acme\/environments\/production\/trace\?trace_id=[0-9a-f]{32}$/,
    );
    expect(honeycomb.sourceStats[0]?.queryLinks?.[0]).toMatch(
      /^https:\/\/ui\.honeycomb\.io\/acme\/.*\/result\/r1$/,
    );
  });

  it("rejects a wrong key before anything runs, naming the variable (exit 2)", async () => {
    const run = await runCli(["--source", "honeycomb", ...common], {
      cwd: dir,
      env: { ...env(), HONEYCOMB_API_KEY: "nope" },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Honeycomb rejected HONEYCOMB_API_KEY \(HTTP 401/);
  });

  it("merges groups from SigNoz and Honeycomb with --source all: counts add up", async () => {
    const signoz = await startFakeSignoz({ apiKey: "sk", spans: loadSpans(FIXTURE) });
    try {
      const fromFile = ReportSchema.parse(
        JSON.parse((await runCli(["--input", FIXTURE, "--out", "out-f", ...common], { cwd: dir })).stdout),
      );
      const run = await runCli(["--source", "all", "--out", "out-all", ...common], {
        cwd: dir,
        env: { ...env(), SIGNOZ_URL: signoz.url, SIGNOZ_API_KEY: "sk" },
      });
      expect(run.code).toBe(0);
      const merged = ReportSchema.parse(JSON.parse(run.stdout));
      expect(merged.sources.sort()).toEqual(["honeycomb", "signoz"]);
      expect(comparable(merged).map((g) => [g.fingerprint, g.count])).toEqual(
        comparable(fromFile).map((g) => [g.fingerprint, g.count * 2]),
      );
      // Links from both backends are kept.
      const links = merged.groups[0]?.links.traces ?? [];
      expect(links.some((l) => l.startsWith(signoz.url))).toBe(true);
      expect(links.some((l) => l.includes("trace?trace_id="))).toBe(true);
    } finally {
      await signoz.close();
    }
  });
});

describe("HoneycombSource against the fake", () => {
  let fake: FakeHoneycomb | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });
  const start = async (options: Partial<FakeHoneycombOptions> = {}) => {
    fake = await startFakeHoneycomb({ apiKey: KEY, dataset: DATASET, spans: loadSpans(FIXTURE), ...options });
    return fake;
  };
  const collect = async (server: FakeHoneycomb, options = FAST) => {
    const source = new HoneycombSource(server.url, KEY, DATASET, options, 5);
    await source.preflight();
    const collector = new GroupCollector();
    const stats = await source.collect(WINDOW, collector);
    return { stats, groups: collector.groups() };
  };

  it("creates a spec, runs it and polls until complete, with seconds and the agent's own spans left out", async () => {
    const server = await start({ pollsUntilComplete: 3 });
    const { groups } = await collect(server);
    expect(groups.length).toBeGreaterThan(4);
    const specs = server.requests
      .filter((r) => r.path === `/1/queries/${DATASET}`)
      .map((r) => JSON.parse(r.body));
    expect(specs[0]).toMatchObject({
      calculations: [{ op: "COUNT" }],
      filters: [
        { column: "error", op: "=", value: true },
        { column: "name", op: "not-in", value: ["claude_code.tool", "claude_code.permission.denied"] },
      ],
      filter_combination: "AND",
      start_time: WINDOW.sinceMs / 1000,
      end_time: WINDOW.untilMs / 1000,
      orders: [{ op: "COUNT", order: "descending" }],
    });
    expect(specs[0].breakdowns).toContain("build.commit_sha");
    const polls = server.requests.filter(
      (r) => r.method === "GET" && r.path.startsWith(`/1/query_results/${DATASET}/`),
    );
    expect(polls.length).toBe(server.runs * 4);
    expect(server.requests.every((r) => r.headers["x-honeycomb-team"] === KEY)).toBe(true);
  });

  it("keeps the number of query runs to 2 plus two per sampled group, whatever the span count", async () => {
    const spans = loadSpans(FIXTURE);
    const small = await collect(await start({ spans }));
    const runsSmall = fake?.runs;
    const sampleRuns =
      fake?.requests.filter((r) => r.path.startsWith("/1/queries/") && r.body.includes("trace.trace_id"))
        .length ?? 0;
    await fake?.close();
    const many = spans.flatMap((s) =>
      Array.from({ length: 5 }, (_, i) => ({ ...s, traceId: `${i}${s.traceId.slice(1)}` })),
    );
    await collect(await start({ spans: many }));
    expect(fake?.runs).toBe(runsSmall);
    // Grouped, prior commits, then per server-side group one per-cause count and one sample query.
    expect(runsSmall).toBe(2 + 2 * sampleRuns);
    expect(sampleRuns).toBeGreaterThan(0);
    expect(sampleRuns).toBeLessThanOrEqual(small.groups.length);
  });

  it("counts groups past 1,000 with a series-free run, and never asks for a limit with the series on", async () => {
    const at = WINDOW.sinceMs + 1000;
    const spans = Array.from({ length: 1_500 }, (_, i) =>
      span({
        startTimeMs: at,
        spanId: i.toString(16).padStart(16, "0"),
        // 1,200 groups: two spans for the first 300 types, one for the other 900.
        attributes: { "exception.type": `E${i % 1_200}` },
      }),
    );
    const server = await start({ spans });
    const { stats, groups } = await collect(server, { ...FAST, sampleGroups: 2 });
    expect(groups).toHaveLength(1_200);
    expect(groups.reduce((n, g) => n + g.count, 0)).toBe(1_500);
    expect(stats.problems.filter((p) => /more than/.test(p.message))).toEqual([]);
    const runs = server.requests
      .filter((r) => r.method === "POST" && r.path === `/1/query_results/${DATASET}`)
      .map((r) => JSON.parse(r.body) as { disable_series: boolean; limit?: number });
    expect(runs.filter((r) => r.limit !== undefined).every((r) => r.disable_series)).toBe(true);
  });

  it("answers a limit with the series on as a strict Honeycomb does: 400", async () => {
    const server = await start();
    const headers = { "x-honeycomb-team": KEY, "content-type": "application/json" };
    const query = (await (
      await fetch(`${server.url}/1/queries/${DATASET}`, {
        method: "POST",
        headers,
        body: JSON.stringify({ calculations: [{ op: "COUNT" }], time_range: 3600, granularity: 60 }),
      })
    ).json()) as { id: string };
    const run = (body: Record<string, unknown>) =>
      fetch(`${server.url}/1/query_results/${DATASET}`, {
        method: "POST",
        headers,
        body: JSON.stringify({ query_id: query.id, ...body }),
      });
    expect((await run({ disable_series: false, limit: 10_000 })).status).toBe(400);
    expect((await run({ disable_series: true, limit: 10_001 })).status).toBe(400);
    expect((await run({ disable_series: true, limit: 10_000 })).status).toBe(200);
    expect((await run({ disable_series: false })).status).toBe(200);
  });

  it("honours the per-minute query budget: 429 with Retry-After, then carries on", async () => {
    const server = await start({ runsPerMinute: 3, retryAfterSeconds: 0 });
    // With Retry-After 0 and a rolling minute, retries cannot succeed: the budget is real.
    const { stats } = await collect(server, { ...FAST, retries: 2 });
    expect(server.requests.some((r) => r.path === `/1/query_results/${DATASET}` && r.method === "POST")).toBe(
      true,
    );
    expect(stats.problems.some((p) => /HTTP 429: gave up after 2 retries/.test(p.message))).toBe(true);
  });

  it("recovers from a 429 once the budget frees up", async () => {
    const server = await start();
    server.inject(
      { kind: "status", status: 429, retryAfterSeconds: 0, body: { error: "rate limit exceeded" } },
      { times: 2, pathPrefix: "/1/query_results" },
    );
    const { groups, stats } = await collect(server);
    expect(groups.length).toBeGreaterThan(4);
    expect(stats.problems).toEqual([]);
  });

  it("refuses a key without the Queries permission before anything runs", async () => {
    const server = await start({ canQuery: false });
    const source = new HoneycombSource(server.url, KEY, DATASET, FAST);
    await expect(source.preflight()).rejects.toBeInstanceOf(UsageError);
    await expect(source.preflight()).rejects.toThrow(/Queries permission/);
  });

  it("reports an unknown dataset with the HTTP status and Honeycomb's message", async () => {
    const server = await start();
    const source = new HoneycombSource(server.url, KEY, "missing", FAST);
    await expect(source.collect(WINDOW, new GroupCollector())).rejects.toThrow(
      "Honeycomb HTTP 404: dataset missing not found",
    );
  });

  it("groups spans missing a commit SHA or service name", async () => {
    const at = WINDOW.sinceMs + 3_600_000;
    const bare = span({
      startTimeMs: at,
      resource: {},
      attributes: { "exception.type": "Boom", "exception.message": "no stack" },
    });
    const { groups } = await collect(await start({ spans: [bare] }));
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ service: "unknown_service", commitSha: null, count: 1 });
    expect(groups[0]?.samples[0]?.message).toBe("no stack");
  });

  it("returns nothing for an empty window", async () => {
    const { groups, stats } = await collect(await start({ spans: [] }));
    expect(groups).toEqual([]);
    expect(stats.spansMatched).toBe(0);
  });
});
