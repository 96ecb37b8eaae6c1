import { diffArrays } from "diff";
import type { GitStore } from "./github-git.ts";

/**
 * What GitHub answers about history, computed from the fake's git objects: compare, a commit
 * list, a recursive tree and GraphQL blame. Blame follows first parents line by line, as
 * `git blame` does for a linear history.
 */
export function ancestors(git: GitStore, sha: string): Set<string> {
  const seen = new Set<string>();
  const todo = [sha];
  while (todo.length > 0) {
    const next = todo.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    todo.push(...(git.commits.get(next)?.parents ?? []));
  }
  return seen;
}

/** GET /repos/{o}/{r}/compare/{base}...{head}: status, and the head's commits the base lacks, oldest first. */
export function compare(git: GitStore, base: string, head: string) {
  const headSide = ancestors(git, head);
  const baseSide = ancestors(git, base);
  const ahead = [...headSide].filter((sha) => !baseSide.has(sha));
  const behind = [...baseSide].filter((sha) => !headSide.has(sha));
  const status =
    ahead.length === 0 && behind.length === 0
      ? "identical"
      : behind.length === 0
        ? "ahead"
        : ahead.length === 0
          ? "behind"
          : "diverged";
  const order = firstParentOrder(git, head);
  const commits = ahead.sort((a, b) => order.indexOf(b) - order.indexOf(a)).slice(0, 250);
  return {
    status,
    ahead_by: ahead.length,
    behind_by: behind.length,
    total_commits: ahead.length,
    commits: commits.map((sha) => ({ sha, commit: { message: git.commits.get(sha)?.message ?? "" } })),
  };
}

export function firstParentOrder(git: GitStore, head: string): string[] {
  const order: string[] = [];
  let sha: string | undefined = head;
  while (sha && !order.includes(sha)) {
    order.push(sha);
    sha = git.commits.get(sha)?.parents[0];
  }
  return order;
}

/** The ranges of a GraphQL `blame(path:)` on a commit, or null when the file is not there. */
export function blameRanges(git: GitStore, head: string, path: string) {
  const fileAt = (sha: string) => {
    const commit = git.commits.get(sha);
    const text = commit ? git.trees.get(commit.tree)?.get(path) : undefined;
    return text === undefined ? undefined : text.replace(/\n$/, "").split("\n");
  };
  const lines = fileAt(head);
  if (!lines) return null;
  const owner = lines.map(() => head);
  const position = lines.map((_, i) => i);
  const open = lines.map(() => true);
  let current = head;
  let currentLines = lines;
  for (;;) {
    const parent = git.commits.get(current)?.parents[0];
    const parentLines = parent ? fileAt(parent) : undefined;
    if (!parent || !parentLines) break;
    const map = unchanged(parentLines, currentLines);
    let moved = false;
    position.forEach((p, k) => {
      if (!open[k]) return;
      const old = map.get(p);
      if (old === undefined) open[k] = false;
      else {
        position[k] = old;
        owner[k] = parent;
        moved = true;
      }
    });
    if (!moved) break;
    current = parent;
    currentLines = parentLines;
  }
  const ranges: Array<{
    startingLine: number;
    endingLine: number;
    commit: { oid: string; messageHeadline: string };
  }> = [];
  owner.forEach((sha, i) => {
    const last = ranges.at(-1);
    if (last && last.commit.oid === sha && last.endingLine === i) last.endingLine = i + 1;
    else
      ranges.push({
        startingLine: i + 1,
        endingLine: i + 1,
        commit: { oid: sha, messageHeadline: (git.commits.get(sha)?.message ?? "").split("\n")[0] ?? "" },
      });
  });
  return ranges;
}

/** New-side line index → old-side line index, for the lines a change kept. */
function unchanged(oldLines: string[], newLines: string[]): Map<number, number> {
  const map = new Map<number, number>();
  let o = 0;
  let n = 0;
  for (const part of diffArrays(oldLines, newLines)) {
    const count = part.value.length;
    if (part.added) n += count;
    else if (part.removed) o += count;
    else {
      for (let k = 0; k < count; k++) map.set(n + k, o + k);
      o += count;
      n += count;
    }
  }
  return map;
}
