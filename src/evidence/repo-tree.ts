import type { StackFrame } from "../grouping/stack-frames.ts";
import { pathsMatch } from "./suspects.ts";

// Third-party code a repository carries along: in the tree, but nobody here wrote it.
const VENDORED = /(^|\/)(node_modules|vendor|third_party|third-party|bower_components)\//;

/**
 * The files of one commit's tree, looked up by a stack frame's path. A frame is application code
 * when it names a file of the repository (and not a vendored one); JDK, runtime, test-harness and
 * installed-package frames are not in the tree, whatever their package name says.
 */
export interface RepoTree {
  /** The repository paths a frame's path can mean (usually one). */
  matches(framePath: string): string[];
  /** The frame runs through the repository's own code. */
  owns(frame: StackFrame): boolean;
}

export function repoTree(paths: readonly string[]): RepoTree {
  const byName = new Map<string, string[]>();
  for (const path of paths) {
    const name = path.slice(path.lastIndexOf("/") + 1);
    const list = byName.get(name);
    if (list) list.push(path);
    else byName.set(name, [path]);
  }
  const matches = (framePath: string) => {
    const name = framePath.slice(framePath.lastIndexOf("/") + 1);
    return (byName.get(name) ?? []).filter((path) => pathsMatch(framePath, path));
  };
  return {
    matches,
    owns: (frame) => matches(frame.file).some((path) => !VENDORED.test(path)),
  };
}

/**
 * Whether the tree can change the suspects: only when a frame the package rules call application
 * code but no changed file matches sits above a frame on a changed file, pushing it deeper. Most
 * stacks never need the listing, which is one more request per commit on GitHub.
 */
export function treeWouldMatter(
  frameLists: ReadonlyArray<readonly StackFrame[]>,
  changed: readonly string[],
) {
  return frameLists.some((frames) => {
    let unmatchedAbove = false;
    for (const frame of frames) {
      if (!frame.inApp) continue;
      if (changed.some((path) => pathsMatch(frame.file, path))) return unmatchedAbove;
      unmatchedAbove = true;
    }
    return false;
  });
}
