import type { ErrorGroup } from "../grouping/collector.ts";
import { type DiffFile, parseUnifiedDiff } from "./diff.ts";
import { type CommitInfo, readCommitFromCheckout } from "./git.ts";
import { type Suspect, scoreSuspects } from "./suspects.ts";

export interface Evidence {
  commit: CommitInfo | null;
  files: DiffFile[];
  /** Why there is no diff to look at, when there is none. */
  diffUnavailable: string | null;
  suspects: Suspect[];
}

export interface EvidenceOptions {
  repoDir: string | null;
}

type CommitLookup = { commit: CommitInfo; files: DiffFile[] } | { error: string };

/**
 * Returns a per-run gatherer. Commits are read once per SHA however many groups share them; the
 * promise is cached so concurrent groups wait on the same read.
 */
export function createEvidenceGatherer(options: EvidenceOptions): (group: ErrorGroup) => Promise<Evidence> {
  const commits = new Map<string, Promise<CommitLookup>>();
  const lookup = (repoDir: string, sha: string) => {
    let pending = commits.get(sha);
    if (!pending) {
      pending = readCommitFromCheckout(repoDir, sha).then(
        ({ commit, diffText }) => ({ commit, files: parseUnifiedDiff(diffText) }),
        (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
      );
      commits.set(sha, pending);
    }
    return pending;
  };

  return async (group) => {
    if (!group.commitSha) return unavailable("the spans carry no build.commit_sha");
    if (!options.repoDir) return unavailable("no repository checkout given (--repo-dir)");
    const found = await lookup(options.repoDir, group.commitSha);
    if ("error" in found) return unavailable(found.error);
    return {
      commit: found.commit,
      files: found.files,
      diffUnavailable: null,
      suspects: scoreSuspects(found.commit.sha, found.files, group.samples),
    };
  };
}

function unavailable(reason: string): Evidence {
  return { commit: null, files: [], diffUnavailable: reason, suspects: [] };
}
