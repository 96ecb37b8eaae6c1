import { describe, expect, it } from "vitest";
import { renderReportMarkdown } from "../../src/report/markdown.ts";
import { type Report, ReportSchema } from "../../src/report/schema.ts";

const group: Report["groups"][number] = {
  rank: 1,
  fingerprint: "4969f72c526359e2",
  slug: "TypeError.applyDiscount.5afcd047",
  title: "TypeError: a | b\nc (at applyDiscount)",
  kind: "exception",
  service: "billing-service",
  commitSha: "83e0a38854e72c25f3ca08ba49cf59a5d1042195",
  issueKey: "BILL-142",
  environment: "prod",
  count: 14,
  firstSeen: "2026-11-20T06:21:26.337Z",
  lastSeen: "2026-11-20T23:12:19.484Z",
  score: 5.8,
  newCommit: true,
  grouping: {
    version: 1,
    basis: "derived",
    exceptionType: "TypeError",
    frame: "applyDiscount@src/pricing.js",
    message: "m",
  },
  sampleTraceIds: ["cc868beb4d9671dd9c442e3afbef7c54"],
  links: { traces: [] },
  commit: { subject: "Support discount codes", author: "Dana", authoredAt: "2026-11-20T05:30:00Z" },
  diffUnavailable: null,
  repository: "acme/billing-service",
  repositorySource: "config",
  diffNotes: [],
  diffOmitted: [],
  pullRequest: {
    number: 42,
    title: "Support discount codes",
    url: "https://github.com/acme/billing-service/pull/42",
    branch: "feature/BILL-142",
    author: "dana",
    mergedAt: null,
  },
  workItem: {
    key: "BILL-142",
    url: "https://acme.atlassian.net/browse/BILL-142",
    summary: "Discount codes",
    status: "Done",
    criteriaSource: "field",
    acceptanceCriteria: "- totals apply the code",
    agentNotes: ["Agent session complete"],
  },
  evidenceProblems: ["no permission to read Jira issue SEC-1 (403)"],
  suspects: [
    { commitSha: "83e0a38", path: "src/pricing.js", line: 7, score: 1, reason: "on a changed line" },
  ],
  analysis: {
    analyst: "offline",
    summary: "summary text",
    rootCause: "root cause text",
    confidence: 0.9,
    category: "code_regression",
    suspect: { commitSha: "83e0a38", path: "src/pricing.js", line: 7, why: "on a changed line" },
    violatedCriteria: [],
    evidence: [],
    investigationSteps: [],
    fix: null,
  },
  actions: [
    { kind: "incident", status: "dry_run", path: "out/actions/x/incident.md" },
    { kind: "pull_request", status: "skipped", reason: "no patch: the offline analyst never proposes one" },
  ],
};

const report: Report = ReportSchema.parse({
  version: 1,
  generatedAt: "2026-11-21T00:00:05.000Z",
  window: { since: "2026-11-20T00:00:00.000Z", until: "2026-11-21T00:00:00.000Z" },
  sources: ["file"],
  dryRun: true,
  fingerprintVersion: 1,
  totals: {
    spansRead: 500,
    spansMatched: 35,
    skippedLines: 2,
    groupsFound: 7,
    groups: 1,
    groupsAnalysed: 1,
    groupsFailed: 0,
  },
  usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, costUsd: 0 },
  redactions: { total: 0, byKind: {} },
  analyst: { name: "offline", model: null, calls: 0, promptVersions: [] },
  sourceStats: [],
  groups: [group],
});

describe("renderReportMarkdown", () => {
  const md = renderReportMarkdown(report);

  it("starts with the window, sources, totals and spend", () => {
    expect(md).toMatch(/^# tracefix triage report\n/);
    expect(md).toContain(
      "Window **2026-11-20T00:00:00.000Z** → **2026-11-21T00:00:00.000Z** · sources: file · **dry run**",
    );
    expect(md).toContain(
      "35 matching spans (of 500 read) in 7 groups; top 1 analysed by the offline analyst, 0 failed. 2 malformed input line(s) skipped.",
    );
    expect(md).toContain("$0.00");
  });

  it("has a ranked table with suspect, confidence and action states", () => {
    expect(md).toContain("| # | service | group | count | new commit | suspect | confidence | PR | ticket |");
    expect(md).toContain(
      "| 1 | billing-service | `TypeError.applyDiscount.5afcd047` | 14 | yes | `src/pricing.js:7` | 0.90 | skipped | dry run |",
    );
  });

  it("explains in each group's section why no PR was opened", () => {
    expect(md).toContain("**No PR:** no patch: the offline analyst never proposes one");
    expect(md).toContain("**Diff suspect:** `src/pricing.js:7` — on a changed line");
  });

  it("links the introducing PR and the work item, and lists evidence that could not be gathered", () => {
    expect(md).toContain(
      "**Introduced by:** [#42 Support discount codes](https://github.com/acme/billing-service/pull/42) (`feature/BILL-142`)",
    );
    expect(md).toContain(
      "**Work item:** [BILL-142](https://acme.atlassian.net/browse/BILL-142) Discount codes (criteria from the field; 1 agent note(s))",
    );
    expect(md).toContain("> no permission to read Jira issue SEC-1 (403)");
  });

  it("keeps telemetry text from breaking the markdown structure", () => {
    expect(md).toContain("## 1. TypeError: a \\| b c (at applyDiscount)");
  });

  it("says so when the window has no failures", () => {
    expect(renderReportMarkdown({ ...report, groups: [] })).toContain("No failing spans in this window.");
  });
});
