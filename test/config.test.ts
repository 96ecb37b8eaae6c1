import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CliOptions, loadConfig } from "../src/config.ts";
import { UsageError } from "../src/usage-error.ts";
import { parseWindow } from "../src/window.ts";
import { useTempDirs } from "./helpers/tmp.ts";

const NOW = new Date("2026-11-25T12:00:00Z");

describe("parseWindow", () => {
  it.each([
    ["30m", 30 * 60_000],
    ["24h", 24 * 3_600_000],
    ["7d", 7 * 86_400_000],
  ])("--since %s is that long before --until", (since, ms) => {
    expect(parseWindow(since, "now", NOW)).toEqual({ sinceMs: NOW.getTime() - ms, untilMs: NOW.getTime() });
  });

  it("accepts ISO timestamps for both ends", () => {
    expect(parseWindow("2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z", NOW)).toEqual({
      sinceMs: Date.parse("2026-11-20T00:00:00Z"),
      untilMs: Date.parse("2026-11-21T00:00:00Z"),
    });
  });

  it.each([
    [
      "yesterday",
      "now",
      /--since: expected a duration like 30m, 24h, 7d or an ISO timestamp, got 'yesterday'/,
    ],
    ["24x", "now", /--since/],
    ["24h", "tomorrow", /--until: expected now or an ISO timestamp/],
    ["2026-11-22T00:00:00Z", "2026-11-21T00:00:00Z", /must be before --until/],
  ])("rejects --since %s --until %s", (since, until, message) => {
    expect(() => parseWindow(since, until, NOW)).toThrow(message);
  });
});

describe("loadConfig", () => {
  const tempDir = useTempDirs();
  const load = (options: CliOptions, env: Record<string, string> = {}, cwd = tempDir()) =>
    loadConfig(options, env, cwd, NOW);
  const withInput = () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "spans.jsonl"), "");
    return cwd;
  };

  it("defaults to the last 24h, top 20, dry run when GitHub and Jira are not configured", () => {
    const config = load({ input: "spans.jsonl" }, {}, withInput());
    expect(config).toMatchObject({
      limit: 20,
      window: { sinceMs: NOW.getTime() - 86_400_000, untilMs: NOW.getTime() },
      sources: [{ kind: "file" }],
      dryRunReason: "not configured to write (GITHUB_TOKEN, JIRA_BASE_URL unset)",
      anthropic: null,
    });
  });

  it("names the missing variable when a chosen backend lacks credentials", () => {
    expect(() => load({ source: "signoz" })).toThrow(/SIGNOZ_URL/);
    expect(() => load({ source: "signoz" }, { SIGNOZ_URL: "https://signoz.example.com" })).toThrow(
      /SIGNOZ_API_KEY/,
    );
    expect(() => load({ source: "honeycomb" }, { HONEYCOMB_API_KEY: "k" })).toThrow(/HONEYCOMB_DATASET/);
    expect(() => load({ source: "file" })).toThrow(/--source file needs --input/);
    expect(() => load({})).toThrow(/no telemetry source configured/);
  });

  it("names the variable whose value is malformed", () => {
    expect(() => load({ source: "signoz" }, { SIGNOZ_URL: "not a url", SIGNOZ_API_KEY: "k" })).toThrow(
      /environment variable SIGNOZ_URL: expected an http\(s\) URL/,
    );
    expect(() => load({ input: "spans.jsonl" }, { GITHUB_REPOSITORY: "just-a-name" }, withInput())).toThrow(
      /GITHUB_REPOSITORY/,
    );
    expect(() =>
      load({ input: "spans.jsonl" }, { JIRA_BASE_URL: "https://acme.atlassian.net" }, withInput()),
    ).toThrow(/JIRA_USER/);
  });

  it("treats an empty variable as unset, as CI does with a missing secret", () => {
    expect(() =>
      load({ input: "spans.jsonl" }, { SIGNOZ_URL: "", ANTHROPIC_API_KEY: "" }, withInput()),
    ).not.toThrow();
  });

  it("rejects bad flag values with the flag's name", () => {
    expect(() => load({ input: "spans.jsonl", limit: "0" }, {}, withInput())).toThrow(
      /--limit: expected a whole number/,
    );
    expect(() => load({ input: "spans.jsonl", limit: "ten" }, {}, withInput())).toThrow(/--limit/);
    expect(() => load({ source: "datadog" })).toThrow(
      /--source: expected one of signoz, honeycomb, file, all/,
    );
    expect(() => load({ input: "missing.jsonl" })).toThrow(/--input missing\.jsonl: file not found/);
    expect(() => load({ input: "spans.jsonl", repoDir: "nope" }, {}, withInput())).toThrow(
      /--repo-dir .*nope: directory not found/,
    );
  });

  it("reads service mappings from triage.config.json and names the bad field", () => {
    const cwd = withInput();
    writeFileSync(
      join(cwd, "triage.config.json"),
      JSON.stringify({ services: { billing: { repo: "acme/billing" } }, limit: 5 }),
    );
    expect(load({ input: "spans.jsonl" }, {}, cwd)).toMatchObject({
      services: { billing: { repo: "acme/billing" } },
      limit: 5,
    });
    expect(load({ input: "spans.jsonl", limit: "3" }, {}, cwd).limit).toBe(3);

    writeFileSync(
      join(cwd, "triage.config.json"),
      JSON.stringify({ services: { billing: { repo: "acme" } } }),
    );
    expect(() => load({ input: "spans.jsonl" }, {}, cwd)).toThrow(
      /services\.billing\.repo: expected "owner\/repo"/,
    );
    writeFileSync(join(cwd, "triage.config.json"), JSON.stringify({ servcies: {} }));
    expect(() => load({ input: "spans.jsonl" }, {}, cwd)).toThrow(/unknown field "servcies"/);
    writeFileSync(join(cwd, "triage.config.json"), "{ not json");
    expect(() => load({ input: "spans.jsonl" }, {}, cwd)).toThrow(/not valid JSON/);
    expect(() => load({ input: "spans.jsonl", config: "other.json" }, {}, cwd)).toThrow(
      /--config other\.json: file not found/,
    );
  });

  it("signals every problem as a UsageError, so the CLI exits 2", () => {
    try {
      load({ source: "signoz" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
    }
  });
});

describe("the README's triage.config.json example", () => {
  const tempDir = useTempDirs();
  it("is a valid config, so the documentation cannot drift from the schema", async () => {
    const { readFileSync } = await import("node:fs");
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const example = /```json\n(\{\n {2}"services"[\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const cwd = tempDir();
    writeFileSync(join(cwd, "triage.config.json"), example ?? "");
    writeFileSync(join(cwd, "spans.jsonl"), "");
    const config = loadConfig({ input: "spans.jsonl" }, {}, cwd, NOW);
    expect(config).toMatchObject({
      concurrency: 4,
      analysis: { cacheWarmup: true },
      actions: { issueType: "Bug" },
    });
  });
});
