import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderReportMarkdown } from "../../src/report/markdown.ts";
import { ReportSchema } from "../../src/report/schema.ts";
import { fitStepSummary } from "../../src/report/step-summary.ts";

/** A report.json recorded from the demo run (fixtures/report/demo-report.json). */
const report = ReportSchema.parse(
  JSON.parse(readFileSync(new URL("../../fixtures/report/demo-report.json", import.meta.url), "utf8")),
);

describe("report.md from a recorded report.json", () => {
  const md = renderReportMarkdown(report);
  const lines = md.split("\n");

  it("has a header with the window, sources, totals and spend", () => {
    expect(lines[0]).toBe("# tracefix triage report");
    expect(md).toContain(
      `Window **${report.window.since}** → **${report.window.until}** · sources: file · **dry run**`,
    );
    expect(md).toMatch(
      /\d+ matching spans \(of \d+ read\) in \d+ groups; top 7 analysed by the offline analyst, 0 failed\./,
    );
    expect(md).toMatch(/^Spend: 0 input \/ 0 output tokens, \$0\.00\./m);
  });

  it("has one ranked table row per group, in rank order", () => {
    const rows = lines.filter((l) => /^\| \d+ \|/.test(l));
    expect(rows).toHaveLength(report.groups.length);
    expect(rows.map((r) => Number(r.split("|")[1]))).toEqual(report.groups.map((g) => g.rank));
    expect(rows[0]).toContain("`src/pricing.js:7`");
  });

  it("has a section per group with its writeup, traces, suspect or diff note, and why no PR was opened", () => {
    const sections = md.split(/^## /m).slice(1);
    expect(sections).toHaveLength(report.groups.length);
    sections.forEach((section, i) => {
      const group = report.groups[i];
      expect(section.startsWith(`${group?.rank}. `)).toBe(true);
      expect(section).toContain(group?.analysis?.summary ?? "?");
      expect(section).toMatch(/\*\*Sample traces:\*\*/);
      expect(section).toMatch(/\*\*No PR:\*\* no patch proposed/);
      expect(section).toMatch(/\*\*Diff suspect:\*\*|\*\*Diff:\*\* unavailable|\*\*Root cause\*\*/);
    });
  });

  it("fits the step summary limit by cutting whole group sections from the tail, and says so", () => {
    const limit = md.split(/^## /m).slice(0, 3).join("## ").length + 600;
    const fitted = fitStepSummary(md, limit);
    expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(limit + 300);
    expect(fitted).toContain("## 1. ");
    expect(fitted).not.toContain(`## ${report.groups.length}. `);
    expect(fitted).toMatch(
      /Report truncated to fit GitHub's step-summary limit: \d of 7 group sections shown/,
    );
    expect(fitStepSummary(md)).toBe(md);
  });
});
