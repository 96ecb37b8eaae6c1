import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildDemoRepo, DEMO_DIR, readDemoManifest } from "../../scripts/demo-repo.ts";
import { GroupCollector } from "../../src/grouping/collector.ts";
import { type Report, ReportSchema } from "../../src/report/schema.ts";
import { SignozSource } from "../../src/telemetry/signoz.ts";
import { type FakeSignoz, startFakeSignoz } from "../fakes/signoz.ts";
import { loadSpans } from "../fakes/span-store.ts";
import { runCli } from "../helpers/cli.ts";
import { exceptionSpan, span } from "../helpers/spans.ts";

const KEY = "signoz-test-key";
const manifest = readDemoManifest();
const FIXTURE = join(DEMO_DIR, "telemetry.jsonl");
const WINDOW = { sinceMs: Date.parse(manifest.window.since), untilMs: Date.parse(manifest.window.until) };
const windowArgs = ["--since", manifest.window.since, "--until", manifest.window.until];
const FAST = { timeoutMs: 2_000, retries: 2, maxRetryDelayMs: 50, sampleGroups: 40 };

/** The parts of a group every source must agree on. */
function comparable(report: Report) {
  return report.groups
    .map((g) => ({
      fingerprint: g.fingerprint,
      slug: g.slug,
      kind: g.kind,
      service: g.service,
      commitSha: g.commitSha,
      count: g.count,
      newCommit: g.newCommit,
      suspect: g.suspects[0]?.path ?? null,
    }))
    .sort((a, b) => a.fingerprint.localeCompare(b.fingerprint));
}

describe("SigNoz source through the CLI", () => {
  let dir = "";
  let fake: FakeSignoz;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tracefix-signoz-"));
    buildDemoRepo(join(dir, "repo"));
    writeFileSync(join(dir, "triage.config.json"), JSON.stringify({ telemetry: FAST }));
    fake = await startFakeSignoz({ apiKey: KEY, spans: loadSpans(FIXTURE) });
  });
  afterAll(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const signozEnv = () => ({ SIGNOZ_URL: fake.url, SIGNOZ_API_KEY: KEY });
  const common = () => [...windowArgs, "--repo-dir", "repo", "--dry-run", "--json", "--limit", "50"];

  it("finds the same groups as the file source given the same spans", async () => {
    const fromFile = await runCli(["--input", FIXTURE, "--out", "out-file", ...common()], { cwd: dir });
    const fromSignoz = await runCli(["--source", "signoz", "--out", "out-signoz", ...common()], {
      cwd: dir,
      env: signozEnv(),
    });
    expect(fromFile.code).toBe(0);
    expect(fromSignoz.stderr).not.toMatch(/warning/);
    expect(fromSignoz.code).toBe(0);
    const file = ReportSchema.parse(JSON.parse(fromFile.stdout));
    const signoz = ReportSchema.parse(JSON.parse(fromSignoz.stdout));
    expect(comparable(signoz)).toEqual(comparable(file));
    expect(comparable(signoz).length).toBeGreaterThan(4);
    expect(signoz.sources).toEqual(["signoz"]);
    expect(signoz.groups.find((g) => g.kind === "exception")?.links.traces[0]).toMatch(
      new RegExp(`^${fake.url}/trace/[0-9a-f]{32}\\?spanId=[0-9a-f]{16}$`),
    );
  });

  it("rejects a wrong key before anything runs, naming the variable (exit 2)", async () => {
    const run = await runCli(["--source", "signoz", ...common()], {
      cwd: dir,
      env: { ...signozEnv(), SIGNOZ_API_KEY: "wrong" },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/SigNoz rejected SIGNOZ_API_KEY \(HTTP 401/);
    expect(run.stdout).toBe("");
  });

  it("reports an unreachable host with the backend's name and still writes the report (exit 1)", async () => {
    const run = await runCli(["--source", "signoz", "--out", "out-down", ...common()], {
      cwd: dir,
      env: { SIGNOZ_URL: "http://127.0.0.1:9", SIGNOZ_API_KEY: KEY },
    });
    expect(run.code).toBe(1);
    const report = ReportSchema.parse(JSON.parse(run.stdout));
    expect(report.sourceStats[0]?.problems[0]?.message).toMatch(
      /^SigNoz: cannot reach http:\/\/127\.0\.0\.1:9/,
    );
  });
});

describe("SignozSource against the fake", () => {
  let fake: FakeSignoz | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });
  const start = async (spans = loadSpans(FIXTURE)) => {
    fake = await startFakeSignoz({ apiKey: KEY, spans });
    return fake;
  };
  const collect = async (server: FakeSignoz, options = FAST) => {
    const source = new SignozSource(server.url, KEY, options);
    const collector = new GroupCollector();
    const stats = await source.collect(WINDOW, collector);
    return { stats, groups: collector.groups(), collector };
  };

  it("makes a number of requests that follows the groups, not the spans", async () => {
    const spans = loadSpans(FIXTURE);
    const small = await collect(await start(spans));
    const buckets = fake?.requests.filter((r) => r.body.includes('"requestType":"raw"')).length ?? 0;
    await fake?.close();
    // Ten times the spans, same groups: every span copied with a new trace id.
    const many = spans.flatMap((s) =>
      Array.from({ length: 10 }, (_, i) => ({ ...s, traceId: `${i}${s.traceId.slice(1)}` })),
    );
    const large = await collect(await start(many));
    expect(large.stats.requests).toBe(small.stats.requests);
    expect(large.stats.spansMatched).toBe(small.stats.spansMatched * 10);
    // One grouped query, one prior-commit query, then per server-side group one per-cause count
    // and one sample query.
    expect(small.stats.requests).toBe(2 + 2 * buckets);
    expect(buckets).toBeGreaterThan(0);
    expect(buckets).toBeLessThanOrEqual(small.groups.length);
  });

  it("sends the documented v5 request: ms window, count() by resource and attribute keys, raw samples limited", async () => {
    const server = await start();
    await collect(server);
    const bodies = server.requests.map((r) => JSON.parse(r.body));
    const grouped = bodies.find((b) => b.requestType === "time_series");
    expect(grouped.start).toBe(WINDOW.sinceMs);
    expect(grouped.end).toBe(WINDOW.untilMs);
    const spec = grouped.compositeQuery.queries[0].spec;
    expect(spec.filter.expression).toBe(
      "(has_error = true OR name = 'claude_code.turn.stop_failure') AND name != 'claude_code.tool' AND name != 'claude_code.permission.denied'",
    );
    expect(spec.groupBy).toContainEqual({
      name: "build.commit_sha",
      fieldDataType: "string",
      signal: "traces",
      fieldContext: "resource",
    });
    expect(spec.groupBy).toContainEqual({
      name: "exception.type",
      fieldDataType: "string",
      signal: "traces",
      fieldContext: "attribute",
    });
    const raw = bodies.filter((b) => b.requestType === "raw");
    expect(raw.length).toBeGreaterThan(0);
    expect(raw.every((b) => b.compositeQuery.queries[0].spec.limit === 5)).toBe(true);
    expect(server.requests.every((r) => r.headers["signoz-api-key"] === KEY)).toBe(true);
  });

  it("keeps at most 5 samples per group with stack traces, newest first", async () => {
    const { groups } = await collect(await start());
    const regression = groups.find((g) => g.grouping.exceptionType === "TypeError");
    expect(regression?.count).toBe(14);
    expect(regression?.samples).toHaveLength(5);
    expect(regression?.samples[0]?.stacktrace).toMatch(
      /at applyDiscount \(\/srv\/billing-service\/src\/pricing\.js:7/,
    );
    const times = regression?.samples.map((s) => s.timeMs) ?? [];
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it("waits out a 429 with Retry-After and carries on", async () => {
    const server = await start();
    server.inject(
      {
        kind: "status",
        status: 429,
        retryAfterSeconds: 0,
        body: { status: "error", error: { code: "too_many", message: "slow down" } },
      },
      { times: 2 },
    );
    const { stats, groups } = await collect(server);
    expect(groups.length).toBeGreaterThan(4);
    expect(server.requests.length).toBe(stats.requests + 2);
  });

  it("retries a response slower than the timeout, then gives up with the backend's name", async () => {
    // undici checks its timeouts about once a second, so the delays exceed that.
    const server = await start();
    server.inject({ kind: "delay", ms: 1500 }, { times: 1 });
    const ok = await collect(server, { ...FAST, timeoutMs: 300 });
    expect(ok.groups.length).toBeGreaterThan(4);
    server.inject({ kind: "delay", ms: 1500 }, { times: 2 });
    await expect(collect(server, { ...FAST, timeoutMs: 300, retries: 1 })).rejects.toThrow(
      /^SigNoz: timed out waiting for/,
    );
  });

  it("tries a truncated JSON body once more before failing", async () => {
    const server = await start();
    server.inject({ kind: "truncate" }, { times: 1 });
    expect((await collect(server)).groups.length).toBeGreaterThan(4);
    server.inject({ kind: "truncate" }, { times: 2 });
    await expect(collect(server)).rejects.toThrow(/SigNoz HTTP 200: invalid JSON/);
  });

  it("reports a rejected query with the HTTP status and SigNoz's message", async () => {
    const server = await start();
    server.inject({
      kind: "status",
      status: 400,
      body: { status: "error", error: { code: "invalid_input", message: "key `x` not found" } },
    });
    await expect(collect(server)).rejects.toThrow("SigNoz HTTP 400: key `x` not found");
  });

  it("keeps a group whose samples fail, with its fingerprint exact from the per-cause counts, and says so", async () => {
    const server = await start();
    server.inject(
      { kind: "status", status: 503 },
      { times: 1000, match: (r) => r.body.includes('"requestType":"raw"') },
    );
    const { stats, groups } = await collect(server, { ...FAST, retries: 1 });
    expect(groups.length).toBeGreaterThan(0);
    expect(groups.reduce((n, g) => n + g.count, 0)).toBe(stats.spansMatched);
    // No trace was read, but every exception group's message and stack came from the counts.
    // (An error span with no exception at all has nothing more to say, and stays provisional.)
    const exceptions = groups.filter((g) => g.grouping.exceptionType !== null);
    expect(exceptions.length).toBeGreaterThan(0);
    expect(exceptions.every((g) => g.sampled && g.samples.every((s) => s.traceId === ""))).toBe(true);
    expect(exceptions.every((g) => g.samples[0]?.stacktrace !== "")).toBe(true);
    expect(stats.problems[0]?.message).toMatch(
      /^samples for service\.name=\S+ .* unavailable: SigNoz HTTP 503: gave up after 1 retries/,
    );
  });

  it("marks fingerprints provisional when neither samples nor per-cause counts could be read", async () => {
    const server = await start();
    server.inject(
      { kind: "status", status: 503 },
      {
        times: 1000,
        match: (r) =>
          r.body.includes('"requestType":"raw"') || r.body.includes('"name":"exception.stacktrace"'),
      },
    );
    const { stats, groups } = await collect(server, { ...FAST, retries: 1 });
    expect(groups.reduce((n, g) => n + g.count, 0)).toBe(stats.spansMatched);
    expect(groups.every((g) => g.samples.length === 0)).toBe(true);
    // Fingerprints built from the coarse keys alone are provisional: nothing is written under them.
    expect(groups.every((g) => !g.sampled)).toBe(true);
    expect(stats.problems.some((p) => /per-cause counts for .* unavailable/.test(p.message))).toBe(true);
  });

  it("says when there are more groups than one query returns, and still counts the ones it got", async () => {
    const at = WINDOW.sinceMs + 1000;
    const spans = Array.from({ length: 1001 }, (_, i) =>
      span({
        startTimeMs: at,
        spanId: i.toString(16).padStart(16, "0"),
        attributes: { "exception.type": `E${i}` },
      }),
    );
    const { stats, groups } = await collect(await start(spans), { ...FAST, sampleGroups: 0 });
    expect(groups).toHaveLength(1000);
    expect(stats.problems).toContainEqual({
      message: "more than 1000 groups; the smallest were not fetched",
    });
    expect(stats.requests).toBe(2);
  });

  it("returns nothing for an empty window", async () => {
    const { groups, stats } = await collect(await start([]));
    expect(groups).toEqual([]);
    expect(stats.requests).toBe(2);
  });

  it("groups spans missing a commit SHA or service name, and spans without a stack trace", async () => {
    const at = WINDOW.sinceMs + 3_600_000;
    const bare = span({
      startTimeMs: at,
      resource: {},
      attributes: { "exception.type": "Boom", "exception.message": "no stack here" },
    });
    const withEventOnly = exceptionSpan(
      "EventOnly",
      "stack only on the event",
      "EventOnly\n    at f (/srv/a.js:1:1)",
      {
        startTimeMs: at,
        resource: { "service.name": "api" },
      },
    );
    const { groups } = await collect(await start([bare, withEventOnly]));
    const boom = groups.find((g) => g.grouping.exceptionType === "Boom");
    expect(boom).toMatchObject({ service: "unknown_service", commitSha: null, count: 1 });
    expect(boom?.samples[0]?.stacktrace).toBe("");
    // Stack traces that live only on span events are not query-builder fields: the group stays, the frame is lost.
    const eventOnly = groups.find((g) => g.service === "api");
    expect(eventOnly?.count).toBe(1);
    expect(eventOnly?.grouping.frame).toBeNull();
  });
});
