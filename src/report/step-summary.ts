/** GitHub rejects a step summary over 1 MiB; stay under it with room for the note. */
export const STEP_SUMMARY_LIMIT_BYTES = 1024 * 1024 - 4 * 1024;

/**
 * Fits report.md into the step summary: whole group sections from the top (the ranked table and
 * the highest-ranked groups stay), the tail cut at a section boundary, and a line saying so.
 */
export function fitStepSummary(markdown: string, limitBytes = STEP_SUMMARY_LIMIT_BYTES): string {
  if (Buffer.byteLength(markdown) <= limitBytes) return markdown;
  const sections = markdown.split(/(?=^## )/m);
  const total = sections.length - 1;
  let out = "";
  let shown = -1;
  for (const section of sections) {
    if (Buffer.byteLength(out + section) > limitBytes - 512) break;
    out += section;
    shown += 1;
  }
  if (shown < 0)
    out = Buffer.from(markdown)
      .subarray(0, limitBytes - 512)
      .toString("utf8")
      .replace(/\uFFFD+$/, "");
  const note = `\n\n_Report truncated to fit GitHub's step-summary limit: ${Math.max(0, shown)} of ${total} group sections shown. The full report.md is in the triage-report artifact._\n`;
  return `${out.trimEnd()}${note}`;
}
