import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";

/** The git objects a fake repository serves: commits → trees → file contents, and branch refs. */
export interface GitStore {
  defaultBranch: string;
  branches: Map<string, string>;
  commits: Map<string, { tree: string; message: string; parents: string[] }>;
  trees: Map<string, Map<string, string>>;
}

export function loadGitStore(dir: string): GitStore {
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const store: GitStore = {
    defaultBranch: "main",
    branches: new Map(),
    commits: new Map(),
    trees: new Map(),
  };
  for (const sha of git("rev-list", "--all").trim().split("\n").filter(Boolean)) {
    const files = new Map<string, string>();
    for (const path of git("ls-tree", "-r", "--name-only", sha).trim().split("\n").filter(Boolean)) {
      files.set(path, git("show", `${sha}:${path}`));
    }
    const tree = treeHash(files);
    store.trees.set(tree, files);
    const [parents = "", ...message] = git("show", "-s", "--format=%P%n%B", sha).split("\n");
    store.commits.set(sha, {
      tree,
      message: message.join("\n").trim(),
      parents: parents.split(" ").filter(Boolean),
    });
  }
  store.branches.set("main", git("rev-parse", "HEAD").trim());
  return store;
}

export function treeHash(files: Map<string, string>): string {
  const hash = createHash("sha1");
  for (const [path, content] of [...files].sort(([a], [b]) => a.localeCompare(b)))
    hash.update(`${path}\0${content}\0`);
  return hash.digest("hex");
}

export function commitHash(tree: string, message: string, parents: string[]): string {
  return createHash("sha1")
    .update(`${tree}\0${parents.join(",")}\0${message}\0${Date.now()}\0${Math.random()}`)
    .digest("hex");
}
