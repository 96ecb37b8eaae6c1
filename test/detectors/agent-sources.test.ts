import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Report, ReportSchema } from "../../src/report/schema.ts";
import { type FakeHoneycomb, startFakeHoneycomb } from "../fakes/honeycomb.ts";
import { type FakeSignoz, startFakeSignoz } from "../fakes/signoz.ts";
import { sessionSpans } from "../helpers/agent-spans.ts";
import { runCli } from "../helpers/cli.ts";
import { toJsonLines } from "../helpers/cost-spans.ts";

const HOUR = 3_600_000;
// Honeycomb queries only the last 7 days: the sessions sit just before now.
const UNTIL = Math.floor(Date.now() / HOUR) * HOUR;
const SINCE = UNTIL - 24 * HOUR;
const REPO = "acme/billing-service";

const spans = [
  ...Array.from({ length: 6 }, (_, i) =>
    sessionSpans({
      id: `h-${i}`,
      repo: REPO,
      startMs: SINCE - (i + 1) * 12 * HOUR,
      tools: [
        "Read",
        "Edit",
        "Bash",
        "Bash",
        "Bash",
        "Bash",
        "Bash",
        "Bash",
        "Bash",
        i % 3 ? "Bash" : "Bash!",
      ],
    }),
  ).flat(),
  ...sessionSpans({
    id: "s-d1",
    repo: REPO,
    startMs: SINCE + HOUR,
    tools: ["Read"],
    denied: ["Bash", "Bash", "Bash"],
  }),
  ...sessionSpans({
    id: "s-w1",
    repo: REPO,
    startMs: SINCE + 3 * HOUR,
    tools: ["Bash!", "Bash!", "Bash!", "Bash!", "Bash!", "Bash", "Read"],
    turns: 2,
  }),
  ...sessionSpans({
    id: "s-run",
    repo: REPO,
    startMs: SINCE + 6 * HOUR,
    tools: Array.from({ length: 90 }, () => "Read"),
    turns: 3,
    inputTokens: 90_000,
  }),
];

function agentView(report: Report) {
  return {
    groups: report.groups
      .filter((g) => g.kind === "agent_behaviour")
      .map((g) => ({ fingerprint: g.fingerprint, count: g.count, behaviour: g.behaviour }))
      .sort((a, b) => a.fingerprint.localeCompare(b.fingerprint)),
    exceptions: report.groups.filter((g) => g.kind === "exception").length,
    usage: { ...report.agentUsage, requests: 0 },
  };
}

describe("coding-agent behaviour through the file source, SigNoz and Honeycomb", () => {
  let dir = "";
  let signoz: FakeSignoz;
  let honeycomb: FakeHoneycomb;
  const window = ["--since", new Date(SINCE).toISOString(), "--until", new Date(UNTIL).toISOString()];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tracefix-agents-"));
    writeFileSync(join(dir, "spans.jsonl"), toJsonLines(spans));
    writeFileSync(
      join(dir, "triage.config.json"),
      JSON.stringify({ telemetry: { timeoutMs: 3_000, retries: 1, maxRetryDelayMs: 20 } }),
    );
    signoz = await startFakeSignoz({ apiKey: "sz", spans });
    honeycomb = await startFakeHoneycomb({ apiKey: "hc", dataset: "prod", spans });
  });
  afterAll(async () => {
    await Promise.all([signoz.close(), honeycomb.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (args: string[], env: Record<string, string> = {}) => {
    const result = await runCli([...window, "--dry-run", "--json", ...args], { cwd: dir, env });
    expect(result.code, result.stderr).toBe(0);
    return ReportSchema.parse(JSON.parse(result.stdout));
  };

  it("finds the same three signals and the same usage figures from every source, and no exception groups", async () => {
    const file = agentView(await run(["--input", join(dir, "spans.jsonl"), "--out", "out-file"]));
    const viaSignoz = agentView(
      await run(["--source", "signoz", "--out", "out-signoz"], {
        SIGNOZ_URL: signoz.url,
        SIGNOZ_API_KEY: "sz",
      }),
    );
    const viaHoneycomb = agentView(
      await run(["--source", "honeycomb", "--out", "out-honeycomb"], {
        HONEYCOMB_API_URL: honeycomb.url,
        HONEYCOMB_API_KEY: "hc",
        HONEYCOMB_DATASET: "prod",
      }),
    );
    expect(file.groups.map((g) => g.behaviour?.signal).sort()).toEqual([
      "permission_denied",
      "runaway_session",
      "tool_failures",
    ]);
    expect(file.exceptions).toBe(0);
    expect(file.usage).toMatchObject({
      sessions: 3,
      toolCalls: 98,
      topDenials: [{ tool: "Bash", count: 3 }],
    });
    expect(viaSignoz).toEqual(file);
    expect(viaHoneycomb).toEqual(file);
  });
});
