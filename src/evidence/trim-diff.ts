import type { DiffFile, DiffHunk } from "./diff.ts";
import type { Suspect } from "./suspects.ts";

export interface TrimmedDiff {
  text: string;
  estimatedTokens: number;
  /** What was left out, one line per file, so the analyst (and a reader) knows the diff is partial. */
  omitted: string[];
}

// ~3 characters per token is conservative for code; the prompt budget check uses the same estimate.
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 3);
}

// A suspect hunk larger than the whole budget is cut to this many lines either side of the suspect line.
const SUSPECT_WINDOW_LINES = 80;

interface Candidate {
  file: DiffFile;
  hunk: DiffHunk;
  index: number;
  priority: 0 | 1 | 2;
}

/**
 * The diff as the analyst sees it: hunks the failing stacks run through are kept whole, the rest
 * are added smallest-first (suspect files before others) until the token budget is spent.
 */
export function trimDiffForAnalysis(
  files: readonly DiffFile[],
  suspects: readonly Suspect[],
  budgetTokens: number,
): TrimmedDiff {
  const candidates: Candidate[] = files.flatMap((file) =>
    file.hunks.map((hunk, index) => ({ file, hunk, index, priority: priorityOf(file, hunk, suspects) })),
  );
  const chosen = new Map<DiffFile, Map<number, string[]>>();
  const omitted: string[] = [];
  let spent = 0;
  const ordered = [...candidates].sort(
    (a, b) => a.priority - b.priority || hunkSize(a.hunk) - hunkSize(b.hunk),
  );
  for (const candidate of ordered) {
    let lines = candidate.hunk.lines;
    let cost = estimateTokens(renderHunk(candidate.hunk, lines)) + estimateTokens(fileHeader(candidate.file));
    if (spent + cost > budgetTokens) {
      if (candidate.priority !== 0) continue;
      // A suspect hunk never disappears: cut it around the suspect line instead.
      lines = windowAround(candidate, suspects);
      cost = estimateTokens(renderHunk(candidate.hunk, lines)) + estimateTokens(fileHeader(candidate.file));
      omitted.push(
        `${candidate.file.path}: suspect hunk @@ +${candidate.hunk.newStart} cut to ${lines.length} of ${candidate.hunk.lines.length} lines`,
      );
      if (spent + cost > budgetTokens && spent > 0) continue;
    }
    spent += cost;
    const byIndex = chosen.get(candidate.file) ?? new Map<number, string[]>();
    byIndex.set(candidate.index, lines);
    chosen.set(candidate.file, byIndex);
  }

  const parts: string[] = [];
  const wholeFilesLeftOut: string[] = [];
  for (const file of files) {
    if (file.binary) {
      omitted.push(`${file.path}: binary file, no text diff`);
      continue;
    }
    const byIndex = chosen.get(file);
    if (!byIndex) {
      if (file.hunks.length > 0) wholeFilesLeftOut.push(`${file.path} (${hunkLineCount(file.hunks)} lines)`);
      continue;
    }
    parts.push(fileHeader(file));
    for (const [index, hunk] of file.hunks.entries()) {
      const lines = byIndex.get(index);
      if (lines) parts.push(renderHunk(hunk, lines));
    }
    const left = file.hunks.length - byIndex.size;
    if (left > 0) omitted.push(`${file.path}: ${left} of ${file.hunks.length} hunks omitted`);
  }
  if (wholeFilesLeftOut.length > 0) {
    const shown = wholeFilesLeftOut.slice(0, 20).join(", ");
    const more = wholeFilesLeftOut.length > 20 ? ` and ${wholeFilesLeftOut.length - 20} more` : "";
    omitted.push(`${wholeFilesLeftOut.length} file(s) omitted entirely: ${shown}${more}`);
  }
  const text = parts.join("");
  return { text, estimatedTokens: estimateTokens(text), omitted };
}

function priorityOf(file: DiffFile, hunk: DiffHunk, suspects: readonly Suspect[]): 0 | 1 | 2 {
  const inFile = suspects.filter((s) => s.path === file.path);
  if (inFile.length === 0) return 2;
  const end = hunk.newStart + Math.max(hunk.newLines, 1);
  return inFile.some((s) => s.line !== undefined && s.line >= hunk.newStart - 10 && s.line <= end + 10)
    ? 0
    : 1;
}

function windowAround(candidate: Candidate, suspects: readonly Suspect[]): string[] {
  const line =
    suspects.find((s) => s.path === candidate.file.path && s.line !== undefined)?.line ??
    candidate.hunk.newStart;
  let newLine = candidate.hunk.newStart;
  let centre = 0;
  candidate.hunk.lines.forEach((text, i) => {
    if (newLine <= line) centre = i;
    if (!text.startsWith("-")) newLine += 1;
  });
  return candidate.hunk.lines.slice(
    Math.max(0, centre - SUSPECT_WINDOW_LINES),
    centre + SUSPECT_WINDOW_LINES,
  );
}

function fileHeader(file: DiffFile): string {
  const oldPath = file.oldPath ?? file.path;
  return `diff --git a/${oldPath} b/${file.path}\n--- ${file.status === "added" ? "/dev/null" : `a/${oldPath}`}\n+++ ${file.status === "deleted" ? "/dev/null" : `b/${file.path}`}\n`;
}

function renderHunk(hunk: DiffHunk, lines: readonly string[]): string {
  return `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@\n${lines.join("\n")}\n`;
}

function hunkSize(hunk: DiffHunk): number {
  return hunk.lines.reduce((n, l) => n + l.length + 1, 0);
}

function hunkLineCount(hunks: readonly DiffHunk[]): number {
  return hunks.reduce((n, h) => n + h.lines.length, 0);
}
