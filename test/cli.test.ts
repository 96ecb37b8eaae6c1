import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ReportSchema } from "../src/report/schema.ts";
import { runCli } from "./helpers/cli.ts";
import { errorSpan, exportRequest, jsonLines } from "./helpers/otlp.ts";
import { useTempDirs } from "./helpers/tmp.ts";

describe("triage CLI usage", () => {
  it("prints help with the flags, exit codes and examples", async () => {
    const run = await runCli(["--help"]);
    expect(run.code).toBe(0);
    for (const text of ["--since", "--source", "--dry-run", "--repo-dir", "Exit codes", "Examples"]) {
      expect(run.stdout).toContain(text);
    }
  });

  it.each([
    [["--bogus"], "triage: unknown option --bogus (see triage --help)"],
    [["--limit"], "triage: --limit needs a value"],
    [["--json=yes"], "triage: --json does not take a value"],
    [["extra"], "triage: unexpected argument extra (flags start with --; see triage --help)"],
    [
      ["--since", "yesterday", "--input", "x"],
      "triage: --since: expected a duration like 30m, 24h, 7d or an ISO timestamp, got 'yesterday'",
    ],
    [["--source", "signoz"], "triage: the signoz source needs SIGNOZ_URL (e.g. https://signoz.example.com)"],
    [["--source", "honeycomb"], "triage: the honeycomb source needs HONEYCOMB_API_KEY"],
    [
      [],
      "triage: no telemetry source configured: pass --input <file.jsonl>, or set SIGNOZ_URL and SIGNOZ_API_KEY, or HONEYCOMB_API_KEY and HONEYCOMB_DATASET",
    ],
  ])("%j exits 2 with one line naming the problem", async (args, line) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`${line}\n`);
    expect(run.stdout).toBe("");
  });
});

describe("triage over an OTLP file", () => {
  const tempDir = useTempDirs();
  const T0 = Date.parse("2026-11-20T00:00:00Z");
  const window = ["--since", "2026-11-20T00:00:00Z", "--until", "2026-11-21T00:00:00Z"];
  const resource = { "service.name": "api", "build.commit_sha": "a".repeat(40) };

  it("skips malformed lines, counts them in the report and still exits 0", async () => {
    const dir = tempDir();
    const good = JSON.stringify(exportRequest(resource, [errorSpan(T0 + 1000, "E", "x", "")]));
    writeFileSync(join(dir, "in.jsonl"), `${good}\n{broken\n${good}\n`);
    const run = await runCli(["--input", "in.jsonl", ...window, "--json"], { cwd: dir });
    expect(run.code).toBe(0);
    const report = ReportSchema.parse(JSON.parse(run.stdout));
    expect(report.totals).toMatchObject({ skippedLines: 1, spansMatched: 2, groups: 1 });
    expect(report.sourceStats[0]?.problems).toEqual([
      { line: 2, message: expect.stringMatching(/malformed/) },
    ]);
    expect(run.stderr).toMatch(/line 2: malformed line skipped/);
  });

  it("reports an empty window as zero groups", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "in.jsonl"), "");
    const run = await runCli(["--input", "in.jsonl", ...window, "--json"], { cwd: dir });
    expect(run.code).toBe(0);
    expect(ReportSchema.parse(JSON.parse(run.stdout)).groups).toEqual([]);
  });

  it("exits 1 and still writes the report when a group's action fails", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "in.jsonl"),
      jsonLines(exportRequest(resource, [errorSpan(T0 + 1000, "E", "x", "")])),
    );
    mkdirSync(join(dir, "out"));
    writeFileSync(join(dir, "out", "actions"), "a file where the dry-run directory should go");
    const run = await runCli(["--input", "in.jsonl", ...window, "--out", "out", "--json"], { cwd: dir });
    expect(run.code).toBe(1);
    const report = ReportSchema.parse(JSON.parse(run.stdout));
    expect(report.totals.groupsFailed).toBe(1);
    expect(report.groups[0]?.error).toBeTruthy();
    expect(report.groups[0]?.actions.map((a) => a.status)).toEqual(["failed", "skipped"]);
  });

  it("appends report.md to the GitHub step summary when GITHUB_STEP_SUMMARY is set", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "in.jsonl"),
      jsonLines(exportRequest(resource, [errorSpan(T0 + 1000, "E", "x", "")])),
    );
    writeFileSync(join(dir, "summary.md"), "earlier step\n");
    const run = await runCli(["--input", "in.jsonl", ...window], {
      cwd: dir,
      env: { GITHUB_STEP_SUMMARY: join(dir, "summary.md") },
    });
    expect(run.code).toBe(0);
    const { readFileSync } = await import("node:fs");
    const summary = readFileSync(join(dir, "summary.md"), "utf8");
    expect(summary.startsWith("earlier step\n# tracefix triage report")).toBe(true);
  });
});
