import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
// Diffs of a few MB are normal for lockfile bumps; trimming to the token budget happens later.
const MAX_DIFF_BYTES = 64 * 1024 * 1024;

export interface CommitInfo {
  sha: string;
  parents: string[];
  author: string;
  authoredAt: string;
  subject: string;
}

export interface CommitWithDiff {
  commit: CommitInfo;
  diffText: string;
}

export class CommitNotFoundError extends Error {
  override readonly name = "CommitNotFoundError";
}

/**
 * Reads a commit and its diff against its first parent from a local checkout. The SHA is checked
 * to be hex before it gets here (it comes from telemetry) and git runs without a shell.
 */
export async function readCommitFromCheckout(repoDir: string, sha: string): Promise<CommitWithDiff> {
  if (!/^[0-9a-f]{7,64}$/i.test(sha)) throw new CommitNotFoundError(`not a commit SHA: ${sha}`);
  const git = (...args: string[]) =>
    run("git", ["-C", repoDir, "-c", "core.quotePath=false", ...args], {
      maxBuffer: MAX_DIFF_BYTES,
      encoding: "utf8",
    });
  try {
    await git("cat-file", "-e", `${sha}^{commit}`);
  } catch {
    throw new CommitNotFoundError(`commit ${sha.slice(0, 12)} is not in the checkout at ${repoDir}`);
  }
  const { stdout: meta } = await git("show", "-s", "--format=%H%x00%P%x00%an%x00%aI%x00%s", sha);
  const [full = sha, parents = "", author = "", authoredAt = "", subject = ""] = meta.trimEnd().split("\0");
  const { stdout: diffText } = await git(
    "diff-tree",
    "-p",
    "-M",
    "--no-color",
    "--no-ext-diff",
    "--no-commit-id",
    "--root",
    "-m",
    "--first-parent",
    full,
  );
  return {
    commit: { sha: full, parents: parents.split(" ").filter(Boolean), author, authoredAt, subject },
    diffText,
  };
}

/** A file's text at a commit in the local checkout, or null when it does not exist there. */
export async function readFileAtCommit(repoDir: string, sha: string, path: string): Promise<string | null> {
  if (!/^[0-9a-f]{7,64}$/i.test(sha) || path.startsWith("-")) return null;
  try {
    const { stdout } = await run("git", ["-C", repoDir, "show", `${sha}:${path}`], {
      maxBuffer: MAX_DIFF_BYTES,
      encoding: "utf8",
    });
    return stdout;
  } catch {
    return null;
  }
}
