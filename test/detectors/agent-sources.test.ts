import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Report } from "../../src/report/schema.ts";
import { sessionSpans } from "../helpers/agent-spans.ts";
import { type ThreeSources, threeSources } from "../helpers/three-sources.ts";

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
  let sources: ThreeSources;
  beforeAll(async () => {
    sources = await threeSources(spans, { sinceMs: SINCE, untilMs: UNTIL });
  });
  afterAll(() => sources.close());
  const run = async (source: "file" | "signoz" | "honeycomb") => {
    const result = await sources.run(source, `out-${source}`);
    expect(result.code, result.stderr).toBe(0);
    return result.report;
  };

  it("finds the same three signals and the same usage figures from every source, and no exception groups", async () => {
    const file = agentView(await run("file"));
    const viaSignoz = agentView(await run("signoz"));
    const viaHoneycomb = agentView(await run("honeycomb"));
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
