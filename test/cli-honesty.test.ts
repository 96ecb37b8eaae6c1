import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_DIR, readDemoManifest } from "../scripts/demo-repo.ts";
import { type Report, ReportSchema } from "../src/report/schema.ts";
import { startFakeAnthropic } from "./fakes/anthropic.ts";
import { loadRepository, startFakeGitHub } from "./fakes/github.ts";
import { startFakeJira } from "./fakes/jira.ts";
import { startFakeSignoz } from "./fakes/signoz.ts";
import { loadSpans } from "./fakes/span-store.ts";
import { carefulModel } from "./harness/world.ts";
import { type CliRun, demoWindowArgs, runCli } from "./helpers/cli.ts";
import { exportRequest, jsonLines } from "./helpers/otlp.ts";

const DEMO = join(DEMO_DIR, "telemetry.jsonl");
const manifest = readDemoManifest();

/** A port on this machine that nothing listens on: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function reportIn(dir: string): { json: Report; md: string } {
  return {
    json: ReportSchema.parse(JSON.parse(readFileSync(join(dir, "report.json"), "utf8"))),
    md: readFileSync(join(dir, "report.md"), "utf8"),
  };
}

const lastLine = (run: CliRun) => run.stderr.trim().split("\n").at(-1) ?? "";

describe("the report says what the run could not see", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tracefix-honest-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("puts an unreachable SigNoz at the top of report.md, with its host and what to check (exit 1)", async () => {
    const port = await closedPort();
    const run = await runCli(
      ["--source", "signoz", ...demoWindowArgs().slice(2), "--dry-run", "--out", "signoz"],
      {
        cwd: dir,
        env: { SIGNOZ_URL: `http://127.0.0.1:${port}`, SIGNOZ_API_KEY: "k" },
      },
    );
    expect(run.code).toBe(1);
    const { json, md } = reportIn(join(dir, "signoz"));
    expect(json.warnings.map((w) => w.code)).toEqual(["source_failed"]);
    const lines = md.split("\n");
    expect(lines.indexOf("## ⚠ What this run could not see")).toBeLessThan(8);
    expect(md).toContain(`SigNoz at http://127.0.0.1:${port} could not be read`);
    expect(md).toContain("check that SIGNOZ_URL is reachable");
    expect(md).not.toContain("No failing spans in this window.");
    expect(run.stderr).not.toContain("triage: no failing spans in the window");
    expect(lastLine(run)).toMatch(/problem\(s\) limited what this run could see/);
  });

  it("questions zero spans: JSON lines that are not OTLP", async () => {
    writeFileSync(join(dir, "not-otlp.jsonl"), '{"foo": 1}\n{"resourceLogs": []}\n');
    const run = await runCli(
      ["--input", "not-otlp.jsonl", ...demoWindowArgs().slice(2), "--out", "not-otlp"],
      { cwd: dir },
    );
    const { json } = reportIn(join(dir, "not-otlp"));
    expect(json.warnings).toEqual([
      expect.objectContaining({
        code: "no_spans_in_input",
        message: expect.stringContaining("2 line(s) are JSON but hold no spans"),
      }),
    ]);
    expect(run.stderr).toContain("no failing spans found in what could be read — not an all-clear");
  });

  it("questions zero spans: a file whose spans all fall outside the window gives its time range", async () => {
    await runCli(
      ["--input", DEMO, "--since", "2020-01-01T00:00:00Z", "--until", "2020-01-02T00:00:00Z", "--out", "old"],
      {
        cwd: dir,
      },
    );
    const { json, md } = reportIn(join(dir, "old"));
    expect(json.warnings[0]?.code).toBe("input_outside_window");
    expect(md).toMatch(
      /all \d+ span\(s\) in .* fall outside the window\. The file covers 2026-11-19T\S+ → 2026-11-20T\S+\./,
    );
  });

  it("says once, with the fix, when there is no diff source at all", async () => {
    const run = await runCli([...demoWindowArgs(), "--out", "nodiff"], { cwd: dir });
    expect(run.code).toBe(0);
    const { json } = reportIn(join(dir, "nodiff"));
    expect(json.warnings.map((w) => w.code)).toEqual(["no_diff_source"]);
    expect(run.stderr.match(/no diff source/g)).toHaveLength(1);
    expect(run.stderr).toContain("Pass --repo-dir <checkout> or set GITHUB_TOKEN");
  });

  it("gives the real reason when a token is set but no repository resolves", async () => {
    const spans = jsonLines(
      exportRequest({ "service.name": "orders", "build.commit_sha": "a".repeat(40) }, [
        {
          startMs: Date.parse(manifest.window.since) + 1000,
          status: { code: 2, message: "x" },
          attributes: { "exception.type": "E" },
        },
      ]),
    );
    writeFileSync(join(dir, "orders.jsonl"), spans);
    const port = await closedPort();
    await runCli(["--input", "orders.jsonl", ...demoWindowArgs().slice(2), "--out", "norepo"], {
      cwd: dir,
      env: { GITHUB_TOKEN: "t", GITHUB_API_URL: `http://127.0.0.1:${port}` },
    });
    const { json } = reportIn(join(dir, "norepo"));
    expect(json.warnings.map((w) => w.code)).toEqual(["repository_unresolved"]);
    expect(json.groups[0]?.diffUnavailable).toMatch(
      /^no repository to read the commit from: no repository for service orders/,
    );
    expect(json.groups[0]?.diffUnavailable).not.toContain("no GitHub access");
  });

  it("fails a dead GitHub fast after its first refused connection, and says so without Octokit's noise", async () => {
    const port = await closedPort();
    const started = Date.now();
    const run = await runCli([...demoWindowArgs(), "--out", "deadgh"], {
      cwd: dir,
      env: {
        GITHUB_TOKEN: "t",
        GITHUB_API_URL: `http://127.0.0.1:${port}`,
        GITHUB_REPOSITORY: "acme/billing-service",
      },
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    const { json } = reportIn(join(dir, "deadgh"));
    const dead = json.warnings.find((w) => w.code === "host_unreachable");
    expect(dead?.message).toMatch(
      new RegExp(
        `^GitHub at http://127\\.0\\.0\\.1:${port} stopped answering \\(ECONNREFUSED\\); \\d+ later call`,
      ),
    );
    expect(run.stderr).not.toMatch(/with id UNKNOWN/);
    const withCommit = json.groups.filter((g) => g.commitSha !== null);
    expect(withCommit.length).toBeGreaterThan(0);
    for (const g of withCommit)
      expect(g.diffUnavailable).toMatch(/^GitHub at \S+ is unreachable \(ECONNREFUSED\)$/);
  });

  it("keeps the groups past --limit in report.json and an 'also seen' table", async () => {
    const run = await runCli([...demoWindowArgs(), "--limit", "1", "--out", "cut"], { cwd: dir });
    const { json, md } = reportIn(join(dir, "cut"));
    expect(json.groups).toHaveLength(1);
    expect(json.alsoSeen).toHaveLength(json.totals.groupsFound - 1);
    expect(json.alsoSeen[0]).toMatchObject({ rank: 2, service: "billing-service" });
    expect(md).toContain(`**Also seen** (past \`--limit\`, not analysed): ${json.alsoSeen.length} group(s).`);
    expect(run.stderr).toContain(`… and ${json.alsoSeen.length} more group(s) past --limit`);
  });

  it("writes what the incident promises: the sample's attributes and first in-app frames", async () => {
    await runCli([...demoWindowArgs(), "--limit", "1", "--out", "repro"], { cwd: dir });
    const [fingerprint] = readdirSync(join(dir, "repro", "actions"));
    const body = readFileSync(join(dir, "repro", "actions", fingerprint ?? "", "incident.md"), "utf8");
    expect(body).toContain("## Reproduce");
    expect(body).toContain("- `http.route = /invoice/create`");
    expect(body).toContain("at applyDiscount (/srv/billing-service/src/pricing.js:7)");
  });

  it("says when the same error fired on an earlier commit: it predates this deploy", async () => {
    const at = Date.parse(manifest.window.since);
    const error = (startMs: number) => ({
      startMs,
      status: { code: 2, message: "boom" },
      attributes: {
        "exception.type": "Error",
        "exception.message": "boom",
        "exception.stacktrace": "Error: boom\n    at f (/srv/app/src/f.js:1:1)",
      },
    });
    writeFileSync(
      join(dir, "two-commits.jsonl"),
      jsonLines(
        exportRequest({ "service.name": "app", "build.commit_sha": "1".repeat(40) }, [
          error(at + 1000),
          error(at + 2000),
        ]),
        exportRequest({ "service.name": "app", "build.commit_sha": "2".repeat(40) }, [error(at + 3_600_000)]),
      ),
    );
    await runCli(["--input", "two-commits.jsonl", ...demoWindowArgs().slice(2), "--out", "predates"], {
      cwd: dir,
    });
    const { json, md } = reportIn(join(dir, "predates"));
    const later = json.groups.find((g) => g.commitSha === "2".repeat(40));
    expect(later?.alsoOnEarlierCommit).toEqual({ commitSha: "1".repeat(40), count: 2 });
    expect(md).toContain(
      "**Predates this deploy:** the same error fired 2× on the earlier commit `111111111111`.",
    );
    expect(md).toMatch(/\| `2222222` \| 1 \|/);
  });
});

describe("the CLI fails early and cleanly", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tracefix-edges-"));
    writeFileSync(join(dir, "afile"), "");
    writeFileSync(join(dir, "app.log"), "2026-11-20 ERROR something broke\nmore log\n");
    writeFileSync(join(dir, "bad.config.json"), JSON.stringify({ limitt: 5 }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    [["--input", "."], /^triage: --input \.: is a directory; pass the exporter's \.jsonl/],
    [["--input", DEMO, "--out", "afile"], /^triage: --out \S+afile: exists and is not a directory$/],
    [
      ["--input", DEMO, "--out", "afile/sub"],
      /^triage: --out \S+afile\/sub: cannot write there \(ENOTDIR\)$/,
    ],
    [
      ["--input", DEMO, "--limit", "-1"],
      /^triage: --limit: expected a whole number from 1 to 1000, got '-1'$/,
    ],
    [
      ["--input", "app.log"],
      /^triage: --input \S*app\.log: a text file, but not OTLP\/JSON lines \(it starts with "2026-11-20 ERROR something broke"\)/,
    ],
    [["--sinse", "24h"], /^triage: unknown option --sinse \(did you mean --since\?\)$/],
    [
      ["--input", DEMO, "--config", "bad.config.json"],
      /: unknown field "limitt" \(did you mean "limit"\?\)$/,
    ],
  ])("%j exits 2 with one line naming the flag, and no stack trace", async (args, message) => {
    const run = await runCli(args, { cwd: dir });
    expect(run.code).toBe(2);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(existsSync(join(dir, "triage-out", "report.json"))).toBe(false);
  });

  it("tells an older Node, in one line, that Node 24 is required (bin/triage.js)", () => {
    const older = ["/usr/bin/node", "/usr/local/bin/node", "/bin/node"].find((path) => {
      if (!existsSync(path)) return false;
      const version = execFileSync(path, ["--version"], { encoding: "utf8" }).trim();
      return Number(version.slice(1).split(".")[0]) < 24;
    });
    if (!older) return; // This machine has no older Node to try; CI machines do (Node 20).
    const run = spawnSync(older, [join(import.meta.dirname, "..", "bin", "triage.js"), "--help"], {
      encoding: "utf8",
    });
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^triage: Node 24 or newer is required \(this is Node 2\d\./),
    ]);
  });
});

describe("--verbose and triage doctor", () => {
  it("--verbose shows each request with its status and time, and why each group got no PR", async () => {
    const signoz = await startFakeSignoz({ apiKey: "sz", spans: loadSpans(DEMO) });
    try {
      const dir = mkdtempSync(join(tmpdir(), "tracefix-verbose-"));
      const run = await runCli(
        ["--source", "signoz", ...demoWindowArgs().slice(2), "--verbose", "--limit", "2", "--out", "out"],
        {
          cwd: dir,
          env: { SIGNOZ_URL: signoz.url, SIGNOZ_API_KEY: "sz" },
        },
      );
      rmSync(dir, { recursive: true, force: true });
      expect(run.stderr).toMatch(/triage: signoz: POST \/api\/v5\/query_range - 200 in \d+ ms/);
      expect(run.stderr).toMatch(/triage: signoz: \d+ request\(s\) in all/);
      expect(run.stderr).toMatch(/triage: {3}#1 ticket dry_run: [^;]+; PR skipped: /);
    } finally {
      await signoz.close();
    }
  });

  it("triage doctor checks every configured service and says what each key may do", async () => {
    const signoz = await startFakeSignoz({ apiKey: "sz", spans: [] });
    const github = await startFakeGitHub({ token: "gh" });
    const repoDir = mkdtempSync(join(tmpdir(), "tracefix-doctor-"));
    const { buildDemoRepo } = await import("../scripts/demo-repo.ts");
    buildDemoRepo(join(repoDir, "repo"));
    github.repos.set(
      "acme/billing-service",
      loadRepository(join(repoDir, "repo"), "acme", "billing-service"),
    );
    const jira = await startFakeJira({ email: "bot@acme.example", token: "jt" });
    const claude = await startFakeAnthropic({ apiKey: "sk", respond: carefulModel });
    const env = {
      SIGNOZ_URL: signoz.url,
      SIGNOZ_API_KEY: "sz",
      GITHUB_TOKEN: "gh",
      GITHUB_API_URL: github.url,
      GITHUB_REPOSITORY: "acme/billing-service",
      JIRA_BASE_URL: jira.url,
      JIRA_USER: "bot@acme.example",
      JIRA_API_TOKEN: "jt",
      JIRA_PROJECT: "OPS",
      ANTHROPIC_API_KEY: "sk",
      ANTHROPIC_BASE_URL: claude.url,
    };
    try {
      const good = await runCli(["doctor"], { cwd: repoDir, env });
      expect(good.code, good.stdout).toBe(0);
      expect(good.stdout).toMatch(/^✓ SigNoz {5}http:\/\/127\.0\.0\.1:\d+: the key ran a trace query$/m);
      expect(good.stdout).toMatch(/^– Honeycomb {2}set HONEYCOMB_API_KEY, HONEYCOMB_DATASET to use it$/m);
      expect(good.stdout).toMatch(
        /^✓ GitHub .*signed in as tracefix-bot \(scopes: repo\); acme\/billing-service read\+write$/m,
      );
      expect(good.stdout).toMatch(
        /^✓ Jira .*signed in as Tracefix Bot; project OPS: browse, create, comment and link allowed$/m,
      );
      expect(good.stdout).toMatch(/^✓ Anthropic {2}key accepted; model claude-sonnet-5-5 available$/m);

      jira.denied.add("LINK_ISSUES");
      const repo = github.repos.get("acme/billing-service");
      if (repo) repo.readOnly = true;
      const bad = await runCli(["doctor"], {
        cwd: repoDir,
        env: { ...env, TRIAGE_MODEL: "claude-nonexistent-1", SIGNOZ_API_KEY: "wrong" },
      });
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/^✗ SigNoz .*HTTP 401/m);
      expect(bad.stdout).toMatch(
        /^✗ GitHub .*acme\/billing-service: read-only — draft PRs need contents and pull-requests write access$/m,
      );
      expect(bad.stdout).toMatch(/^✗ Jira .*project OPS lacks LINK_ISSUES$/m);
      expect(bad.stdout).toMatch(
        /^✗ Anthropic {2}model claude-nonexistent-1 not found — check TRIAGE_MODEL$/m,
      );
    } finally {
      await Promise.all([signoz.close(), github.close(), jira.close(), claude.close()]);
      rmSync(repoDir, { recursive: true, force: true });
    }
  });
});
