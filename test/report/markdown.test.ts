import { describe, expect, it } from "vitest";
import { renderReportMarkdown } from "../../src/report/markdown.ts";
import { type Report, ReportSchema } from "../../src/report/schema.ts";
import { sampleReportGroup } from "../helpers/report-group.ts";

const group = sampleReportGroup();

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

  it("has a ranked table with the commit, suspect, verdict and action states", () => {
    expect(md).toContain(
      "| # | service | group | commit | count | new commit | suspect | verdict | PR | ticket |",
    );
    expect(md).toContain(
      "| 1 | billing-service | `TypeError.applyDiscount.5afcd047` | `83e0a38` | 14 | yes | `src/pricing.js:7` | code regression (0.90) | skipped | dry run |",
    );
  });

  it("says 'no code cause' as such, and when the error predates this deploy", () => {
    const innocent = {
      ...sampleReportGroup(),
      alsoOnEarlierCommit: { commitSha: "1234567890abcdef1234567890abcdef12345678", count: 6 },
    };
    if (innocent.analysis) innocent.analysis = { ...innocent.analysis, suspect: null, confidence: 0.3 };
    const text = renderReportMarkdown({ ...report, groups: [innocent] });
    expect(text).toContain("| no code cause (0.30); predates this deploy |");
    expect(text).toContain(
      "**Predates this deploy:** the same error fired 6× on the earlier commit `1234567890ab`.",
    );
  });

  it("puts what the run could not see first, and never calls an empty run an all-clear", () => {
    const blind = renderReportMarkdown({
      ...report,
      groups: [],
      warnings: [
        { code: "source_failed", message: "SigNoz at http://signoz:8080 could not be read: refused." },
      ],
    });
    const lines = blind.split("\n");
    const warning = lines.indexOf("## ⚠ What this run could not see");
    expect(warning).toBeGreaterThan(0);
    expect(warning).toBeLessThan(8);
    expect(blind).toContain("- SigNoz at http://signoz:8080 could not be read: refused.");
    expect(blind).not.toContain("No failing spans in this window.");
    expect(blind).toContain("which is not an all-clear");
  });

  it("lists the groups past --limit in an 'also seen' table", () => {
    const cut = renderReportMarkdown({
      ...report,
      alsoSeen: [
        {
          rank: 2,
          fingerprint: "ab",
          service: "orders",
          slug: "Error.x.1",
          count: 3,
          commitSha: "c".repeat(40),
          newCommit: false,
        },
      ],
    });
    expect(cut).toContain("**Also seen** (past `--limit`, not analysed): 1 group(s).");
    expect(cut).toContain("| 2 | orders | `Error.x.1` | `ccccccc` | 3 |");
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
