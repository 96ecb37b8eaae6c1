import { describe, expect, it } from "vitest";
import { AgentBehaviourDetector } from "../../src/detectors/agent-behaviour/detect.ts";
import { linkSessions, parseWriteBack } from "../../src/detectors/agent-behaviour/linkage.ts";
import { agentSettings } from "../../src/detectors/agent-behaviour/settings.ts";
import { isTriageCandidate } from "../../src/telemetry/conventions.ts";
import type { TelemetrySpan } from "../../src/telemetry/span.ts";
import { type SessionSpec, sessionSpans } from "../helpers/agent-spans.ts";
import { memorySource } from "../helpers/cost-spans.ts";

const HOUR = 3_600_000;
const SINCE = Date.parse("2026-11-20T00:00:00Z");
const UNTIL = SINCE + 24 * HOUR;
const REPO = "acme/billing-service";

async function detect(
  spans: TelemetrySpan[],
  file: Parameters<typeof agentSettings>[0] = {},
  failing = false,
) {
  return new AgentBehaviourDetector(agentSettings(file)).detect({
    sources: [memorySource(spans, failing)],
    window: { sinceMs: SINCE, untilMs: UNTIL },
    info: () => undefined,
    noteCommitSeen: () => undefined,
  });
}

const sessions = (specs: SessionSpec[]) => specs.flatMap(sessionSpans);
// A week of ordinary sessions before the window: 10 tool calls each, Bash failing 1 in 10.
const history = Array.from({ length: 8 }, (_, i) => ({
  id: `h-${i}`,
  repo: REPO,
  startMs: SINCE - (i + 1) * 12 * HOUR,
  tools: ["Read", "Read", "Grep", "Edit", "Bash", "Bash", "Bash", "Bash", "Bash", i % 2 ? "Bash!" : "Bash"],
}));

describe("agent behaviour", () => {
  it("flags a cluster of permission denials by tool and repository, and none below the threshold", async () => {
    const spans = sessions([
      ...history,
      { id: "s-1", repo: REPO, startMs: SINCE + HOUR, tools: ["Read"], denied: ["Bash", "Bash"] },
      { id: "s-2", repo: REPO, startMs: SINCE + 2 * HOUR, denied: ["Bash"] },
      { id: "s-3", repo: REPO, startMs: SINCE + 3 * HOUR, denied: ["WebFetch", "WebFetch"] },
    ]);
    const { groups } = await detect(spans);
    const denials = groups.filter((g) => g.behaviour?.signal === "permission_denied");
    expect(denials).toHaveLength(1);
    expect(denials[0]).toMatchObject({
      kind: "agent_behaviour",
      service: "claude-code",
      commitSha: null,
      count: 3,
    });
    expect(denials[0]?.behaviour).toMatchObject({
      tool: "Bash",
      repo: REPO,
      count: 3,
      sessions: ["s-1", "s-2"],
    });
    expect(denials[0]?.behaviour?.guardrail).toMatch(/permissions\.allow|CLAUDE\.md/);
  });

  it("flags a tool failing far more than in the days before, not one failing as usual", async () => {
    const failing = Array.from({ length: 4 }, (_, i) => ({
      id: `w-${i}`,
      repo: REPO,
      startMs: SINCE + i * HOUR,
      tools: ["Bash!", "Bash!", "Bash", "Read", "Bash!"],
    }));
    const { groups } = await detect(sessions([...history, ...failing]));
    const spike = groups.find((g) => g.behaviour?.signal === "tool_failures");
    expect(spike?.behaviour).toMatchObject({ tool: "Bash", count: 12, repo: REPO });
    expect(spike?.behaviour?.baseline).toBeCloseTo(4 / 48, 3);
    const usual = Array.from({ length: 4 }, (_, i) => ({
      id: `u-${i}`,
      repo: REPO,
      startMs: SINCE + i * HOUR,
      tools: ["Bash", "Bash", "Bash", "Bash", "Bash!", "Bash", "Bash", "Bash", "Bash", "Bash"],
    }));
    expect((await detect(sessions([...history, ...usual]))).groups).toEqual([]);
  });

  it("flags a runaway session against the repository's history, and not without enough history", async () => {
    const runaway = {
      id: "r-1",
      repo: REPO,
      startMs: SINCE + HOUR,
      tools: Array.from({ length: 80 }, () => "Read"),
    };
    const { groups } = await detect(sessions([...history, runaway]));
    expect(groups.find((g) => g.behaviour?.signal === "runaway_session")?.behaviour).toMatchObject({
      repo: REPO,
      count: 1,
      sessions: ["r-1"],
      baseline: 10,
    });
    const thin = await detect(sessions([...history.slice(0, 3), runaway]));
    expect(thin.groups.filter((g) => g.behaviour?.signal === "runaway_session")).toEqual([]);
  });

  it("sums the week-review figures server-side: sessions, calls by tool, read/write, errors, tokens, cache hits", async () => {
    const { summary } = await detect(
      sessions([
        {
          id: "a",
          repo: REPO,
          startMs: SINCE + HOUR,
          tools: ["Read", "Read", "Edit", "Bash!"],
          turns: 2,
          inputTokens: 1_000,
          outputTokens: 200,
          cacheRead: 3_000,
        },
        { id: "b", repo: REPO, startMs: SINCE + 2 * HOUR, denied: ["Bash"] },
        { id: "c", startMs: SINCE + 3 * HOUR, turns: 1, inputTokens: 0, outputTokens: 0, cacheRead: 0 },
      ]),
    );
    expect(summary.usage).toMatchObject({
      sessions: 3,
      sessionsWithoutRepo: 1,
      toolCalls: 4,
      readWriteRatio: 2,
      toolErrorRate: 0.25,
      topDenials: [{ tool: "Bash", repo: REPO, count: 1 }],
      tokens: { input: 3_000, output: 600, cacheRead: 13_000, cacheCreation: 0 },
    });
    expect(summary.usage.cacheHitRatio).toBeCloseTo(13_000 / 16_000, 3);
    expect(summary.usage.toolCallsByTool[0]).toEqual({ tool: "Read", calls: 2, failures: 0 });
  });

  it("takes thousands of sessions, some without git.repo and exported children-first, in its stride", async () => {
    const many = Array.from({ length: 3_000 }, (_, i) =>
      sessionSpans({
        id: `m-${i}`,
        ...(i % 4 ? { repo: `acme/r${i % 7}` } : {}),
        startMs: SINCE - 24 * HOUR + i * 40_000,
        tools: ["Read", "Edit"],
      }).reverse(),
    ).flat();
    const { groups, summary } = await detect(many);
    expect(groups).toEqual([]);
    expect(summary.usage.sessions).toBeGreaterThan(500);
    expect(summary.usage.sessionsWithoutRepo).toBeGreaterThan(0);
    expect(summary.sessions.size).toBe(3_000);
  });

  it("reports a source it could not read as failed, not as a quiet night", async () => {
    const { groups, summary } = await detect([], {}, true);
    expect(groups).toEqual([]);
    expect(summary.usage.failed).toHaveLength(4);
  });

  it("never turns tool failures or denials into exception groups", () => {
    const [failure, denied] = sessions([
      { id: "x", repo: REPO, startMs: SINCE, tools: ["Bash!"], denied: ["Bash"] },
    ]);
    expect(failure?.status.code).toBe(2);
    expect(denied?.status.code).toBe(2);
    expect(isTriageCandidate(failure as TelemetrySpan)).toBe(false);
    expect(isTriageCandidate(denied as TelemetrySpan)).toBe(false);
  });
});

describe("linking sessions to the commit they wrote", () => {
  const authoredAt = new Date(SINCE + 10 * HOUR).toISOString();
  const commit = { authoredAt, files: ["etl/usage-export.js"] };
  const figures = async (specs: SessionSpec[]) => (await detect(sessions(specs))).summary.sessions;
  const writer = {
    id: "s-e152",
    repo: REPO,
    issue: "BILL-152",
    startMs: SINCE + 9 * HOUR,
    tools: ["Read", "Edit", "Bash"],
  };

  it("reads the write-back comment: session id, files modified, plan", () => {
    const note = [
      "**Agent session complete** (s-e152)",
      "Summary: simplified the usage export query",
      "Plan:",
      "- keep the partition predicate on dt",
      "- query both regions at once",
      "Files modified:",
      "- etl/usage-export.js",
      "Tool calls: 7",
    ].join("\n");
    expect(parseWriteBack(note)).toEqual({
      sessionId: "s-e152",
      files: ["etl/usage-export.js"],
      plan: "- keep the partition predicate on dt\n- query both regions at once",
    });
    expect(parseWriteBack("*Agent session complete* (not a valid id!)")?.sessionId).toBeNull();
    expect(parseWriteBack("Looks good to me")).toBeNull();
  });

  it("links by the Jira comment only when the session modified the commit's files", async () => {
    const s = await figures([writer]);
    const linked = linkSessions({
      commit,
      issueKey: null,
      repository: null,
      sessions: s,
      agentNotes: [
        "*Agent session complete* (s-e152)\nFiles modified: etl/usage-export.js\nPlan: partition by date",
      ],
    });
    expect(linked.links).toEqual([
      expect.objectContaining({
        sessionId: "s-e152",
        link: "jira_comment",
        filesModified: ["etl/usage-export.js"],
        plan: "partition by date",
        toolCalls: 3,
      }),
    ]);
    const elsewhere = linkSessions({
      commit,
      issueKey: null,
      repository: null,
      sessions: s,
      agentNotes: ["*Agent session complete* (s-e152)\nFiles modified: src/pricing.js"],
    });
    expect(elsewhere.links).toEqual([]);
    expect(elsewhere.notes[0]).toMatch(/modified none of the commit's files/);
  });

  it("links by the issue key on the agent's spans when the session edited files before the commit", async () => {
    const s = await figures([
      writer,
      { id: "s-read", repo: REPO, issue: "BILL-152", startMs: SINCE + 9 * HOUR, tools: ["Read"] },
      { id: "s-late", repo: REPO, issue: "BILL-152", startMs: SINCE + 20 * HOUR, tools: ["Edit"] },
    ]);
    const { links, notes } = linkSessions({
      commit,
      issueKey: "BILL-152",
      repository: REPO,
      sessions: s,
      agentNotes: [],
    });
    expect(links.map((l) => [l.sessionId, l.link])).toEqual([["s-e152", "issue_key"]]);
    expect(notes.join(" ")).toMatch(/s-late carries BILL-152 but ran outside/);
  });

  it("links by repository and time only to the one session that fits, and never guesses between two", async () => {
    const one = await figures([{ ...writer, issue: undefined }]);
    expect(
      linkSessions({ commit, issueKey: null, repository: REPO, sessions: one, agentNotes: [] }).links.map(
        (l) => l.link,
      ),
    ).toEqual(["repo_time"]);
    const two = await figures([
      { ...writer, issue: undefined },
      { ...writer, id: "s-other", issue: undefined },
    ]);
    const guess = linkSessions({ commit, issueKey: null, repository: REPO, sessions: two, agentNotes: [] });
    expect(guess.links).toEqual([]);
    expect(guess.notes[0]).toMatch(/none linked/);
  });

  it("links a human-written commit to nothing", async () => {
    const s = await figures([
      { id: "s-old", repo: REPO, startMs: SINCE - 5 * 24 * HOUR, tools: ["Edit"] },
      { id: "s-other-repo", repo: "acme/web", startMs: SINCE + 9 * HOUR, tools: ["Edit"] },
    ]);
    expect(
      linkSessions({ commit, issueKey: "BILL-9", repository: REPO, sessions: s, agentNotes: [] }).links,
    ).toEqual([]);
  });
});
