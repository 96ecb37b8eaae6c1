import { appendFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderReportMarkdown } from "./markdown.ts";
import { type Report, ReportSchema } from "./schema.ts";
import { fitStepSummary } from "./step-summary.ts";

export interface WrittenReport {
  jsonPath: string;
  markdownPath: string;
  markdown: string;
}

/** Validates the report against its schema before writing, so a malformed report never ships. */
export async function writeReport(
  report: Report,
  outDir: string,
  stepSummaryPath: string | null,
): Promise<WrittenReport> {
  ReportSchema.parse(report);
  await mkdir(outDir, { recursive: true });
  const jsonPath = join(outDir, "report.json");
  const markdownPath = join(outDir, "report.md");
  const markdown = renderReportMarkdown(report);
  await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(markdownPath, markdown);
  if (stepSummaryPath) await appendFile(stepSummaryPath, `${fitStepSummary(markdown)}\n`);
  return { jsonPath, markdownPath, markdown };
}
