import { parsePatch } from "diff";

export interface DiffHunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** Line numbers (new side) of the lines this hunk adds or changes. */
  addedLines: number[];
  lines: string[];
}

export interface DiffFile {
  path: string;
  oldPath: string | null;
  status: "added" | "modified" | "deleted" | "renamed";
  binary: boolean;
  additions: number;
  deletions: number;
  hunks: DiffHunk[];
}

/** Parses `git diff` output into files and hunks, keeping renames, deletions and binary files. */
export function parseUnifiedDiff(text: string): DiffFile[] {
  if (text.trim() === "") return [];
  return parsePatch(text).map((patch) => {
    const oldPath = stripPrefix(patch.oldFileName);
    const newPath = stripPrefix(patch.newFileName);
    const hunks = patch.hunks.map((hunk) => {
      const addedLines: number[] = [];
      let line = hunk.newStart;
      for (const text of hunk.lines) {
        if (text.startsWith("+")) addedLines.push(line++);
        else if (text.startsWith(" ")) line++;
      }
      return {
        oldStart: hunk.oldStart,
        oldLines: hunk.oldLines,
        newStart: hunk.newStart,
        newLines: hunk.newLines,
        addedLines,
        lines: hunk.lines,
      };
    });
    const status = patch.isCreate
      ? "added"
      : patch.isDelete
        ? "deleted"
        : patch.isRename && oldPath !== newPath
          ? "renamed"
          : "modified";
    return {
      path: (status === "deleted" ? oldPath : newPath) ?? "",
      oldPath: status === "renamed" ? oldPath : null,
      status,
      binary: patch.isBinary === true,
      additions: hunks.reduce((n, h) => n + h.lines.filter((l) => l.startsWith("+")).length, 0),
      deletions: hunks.reduce((n, h) => n + h.lines.filter((l) => l.startsWith("-")).length, 0),
      hunks,
    };
  });
}

function stripPrefix(name: string | undefined): string | null {
  if (!name || name === "/dev/null") return null;
  return name.replace(/^[ab]\//, "");
}
