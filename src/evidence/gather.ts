import type { AgentSessionLink } from "../detectors/agent-behaviour/linkage.ts";
import { hooksFor } from "../detectors/kinds.ts";
import type { ErrorGroup } from "../grouping/collector.ts";
import type { SuspectCommit } from "./deploy-range.ts";
import { type DiffFile, parseUnifiedDiff } from "./diff.ts";
import { type CommitInfo, readCommitFromCheckout } from "./git.ts";
import {
  findIntroducingPullRequest,
  type GitHubClient,
  type PullRequestInfo,
  readCommitFromGitHub,
} from "./github.ts";
import { githubHistory, localHistory } from "./history.ts";
import { issueKeyFor } from "./issue-key.ts";
import type { JiraReader, WorkItem } from "./jira.ts";
import type { Redactor } from "./redact.ts";
import { type RepoTree, repoTree, treeWouldMatter } from "./repo-tree.ts";
import { type RepoRef, type RepositorySettings, resolveRepository, slugOf } from "./repository.ts";
import { appFrames, type Suspect, scoreSuspects } from "./suspects.ts";
import { type TrimmedDiff, trimDiffForAnalysis } from "./trim-diff.ts";

export interface Evidence {
  repository: string | null;
  repositorySource: "config" | "span" | "env" | null;
  commit: CommitInfo | null;
  files: DiffFile[];
  /** Why there is no diff to look at, when there is none. */
  diffUnavailable: string | null;
  /** What the diff is missing (too large, truncated file list, binary files). */
  diffNotes: string[];
  /** The diff trimmed to the analyst's token budget. */
  diffForAnalysis: TrimmedDiff | null;
  suspects: Suspect[];
  pullRequest: PullRequestInfo | null;
  workItem: WorkItem | null;
  /** Parts of the evidence that could not be gathered; the group goes on without them. */
  problems: string[];
  /** The coding-agent sessions that wrote the commit, each with how it was linked and checked. */
  agentSessions: AgentSessionLink[];
  /** The same error on a commit that ran before this one: it predates this deploy. */
  predates: { commitSha: string; count: number } | null;
  /** Commits of the deploy range whose lines the failing stack runs through, best first. */
  suspectCommits: SuspectCommit[];
  /** Set when the evidence is the suspect commit's, not the running one's. */
  introducedBy: { runningSha: string; sha: string; range: string } | null;
}

export interface EvidenceOptions {
  repoDir: string | null;
  github: GitHubClient | null;
  jira: JiraReader | null;
  repositories: RepositorySettings;
  redactor: Redactor;
  diffTokenBudget: number;
  /**
   * The commit of every group this gatherer will be asked about, one entry per group. A commit's
   * diff is then released after its last group instead of living until the end of the run, which
   * is what keeps memory flat on a night of a thousand groups on a thousand commits.
   */
  plannedCommits?: ReadonlyArray<string | null>;
}

type CommitLookup = { commit: CommitInfo; files: DiffFile[]; notes: string[] } | { error: string };

/**
 * Returns a per-run gatherer. Commits, PRs and work items are fetched once per run however many
 * groups share them (the promise is cached, so concurrent groups wait on one request), and all
 * text is redacted before it is kept.
 */
export function createEvidenceGatherer(options: EvidenceOptions): (group: ErrorGroup) => Promise<Evidence> {
  const commits = new Map<string, Promise<CommitLookup>>();
  const pulls = new Map<string, Promise<PullRequestInfo | null>>();
  const trees = new Map<string, Promise<RepoTree | { error: string }>>();
  const { redactor } = options;
  const usesLeft = new Map<string, number>();
  for (const sha of options.plannedCommits ?? []) if (sha) usesLeft.set(sha, (usesLeft.get(sha) ?? 0) + 1);
  const release = (key: string, sha: string) => {
    const left = (usesLeft.get(sha) ?? 0) - 1;
    usesLeft.set(sha, left);
    if (left === 0) {
      commits.delete(key);
      trees.delete(key);
    }
  };

  const commitKey = (repo: RepoRef | null, sha: string) =>
    `${options.repoDir ?? (repo ? slugOf(repo) : "")}@${sha}`;
  const lookupCommit = (repo: RepoRef | null, sha: string, unresolved: string): Promise<CommitLookup> => {
    const key = commitKey(repo, sha);
    let pending = commits.get(key);
    if (!pending) {
      pending = readCommit(repo, sha, unresolved).then(
        async ({ commit, diffText, notes }) => ({
          commit: { ...commit, subject: await redactor.redact(commit.subject) },
          files: parseUnifiedDiff(await redactor.redactPreservingLines(diffText)),
          notes,
        }),
        (error: unknown) => ({ error: messageOf(error) }),
      );
      commits.set(key, pending);
    }
    return pending;
  };

  const readCommit = (repo: RepoRef | null, sha: string, unresolved: string) => {
    if (options.repoDir)
      return readCommitFromCheckout(options.repoDir, sha).then((c) => ({ ...c, notes: [] }));
    if (options.github && repo) return readCommitFromGitHub(options.github, repo, sha);
    // Say what is really missing: the token, or (with a token) the repository.
    return Promise.reject(
      new Error(
        options.github
          ? `no repository to read the commit from: ${unresolved}`
          : "no repository checkout (--repo-dir) and no GitHub access (GITHUB_TOKEN)",
      ),
    );
  };

  // The commit's file listing, read only when it can change the suspects (see treeWouldMatter).
  const lookupTree = (repo: RepoRef | null, sha: string): Promise<RepoTree | { error: string }> => {
    const key = commitKey(repo, sha);
    let pending = trees.get(key);
    if (!pending) {
      const reader = options.repoDir
        ? localHistory(options.repoDir)
        : options.github && repo
          ? githubHistory(options.github, repo)
          : null;
      pending = reader
        ? reader.paths(sha).then(repoTree, (error: unknown) => ({ error: messageOf(error) }))
        : Promise.resolve({ error: "no checkout and no GitHub access" });
      trees.set(key, pending);
    }
    return pending;
  };

  const lookupPull = (github: GitHubClient, repo: RepoRef, sha: string) => {
    const key = `${slugOf(repo)}@${sha}`;
    let pending = pulls.get(key);
    if (!pending) {
      pending = findIntroducingPullRequest(github, repo, sha).then(async (pull) =>
        pull
          ? { ...pull, title: await redactor.redact(pull.title), body: await redactor.redact(pull.body) }
          : null,
      );
      pulls.set(key, pending);
    }
    return pending;
  };

  return async (group) => {
    const evidence = emptyEvidence();
    const resolved = resolveRepository(group, options.repositories);
    if (resolved.repo) {
      evidence.repository = slugOf(resolved.repo);
      evidence.repositorySource = resolved.source;
    } else if (!options.repoDir) {
      evidence.problems.push(resolved.reason);
    }

    if (!group.commitSha) {
      evidence.diffUnavailable = "the spans carry no build.commit_sha";
    } else {
      const found = await lookupCommit(resolved.repo, group.commitSha, resolved.repo ? "" : resolved.reason);
      if ("error" in found) {
        evidence.diffUnavailable = found.error;
      } else {
        evidence.commit = found.commit;
        evidence.files = found.files;
        evidence.diffNotes = found.notes;
        const changed = found.files.filter((f) => f.status !== "deleted").map((f) => f.path);
        let tree: RepoTree | null = null;
        if (
          treeWouldMatter(
            group.samples.map((s) => appFrames(s.stacktrace, null)),
            changed,
          )
        ) {
          const listed = await lookupTree(resolved.repo, found.commit.sha);
          if ("error" in listed)
            evidence.problems.push(
              `application frames were told from library frames by package names: the commit's file list is unavailable (${listed.error})`,
            );
          else tree = listed;
        }
        const scored = scoreSuspects(found.commit.sha, found.files, group.samples, tree);
        const hooks = hooksFor(group);
        evidence.suspects = hooks ? hooks.suspects(group, scored, found.commit.sha, found.files) : scored;
        evidence.diffForAnalysis = trimDiffForAnalysis(
          found.files,
          evidence.suspects,
          options.diffTokenBudget,
        );
      }
      if (options.plannedCommits) release(commitKey(resolved.repo, group.commitSha), group.commitSha);
      if (options.github && resolved.repo) {
        try {
          evidence.pullRequest = await lookupPull(options.github, resolved.repo, group.commitSha);
        } catch (error) {
          evidence.problems.push(`introducing PR unavailable: ${messageOf(error)}`);
        }
      }
    }

    const key = issueKeyFor(
      group.issueKey,
      evidence.pullRequest?.branch ?? null,
      evidence.pullRequest?.title ?? null,
    );
    if (key && options.jira) {
      try {
        const item = await options.jira.read(key);
        evidence.workItem = await redactor.redactDeep(item);
      } catch (error) {
        evidence.problems.push(options.jira.describe(key, error));
      }
    }
    return evidence;
  };
}

/** Evidence with nothing found yet; each lookup fills in its part. */
export function emptyEvidence(): Evidence {
  return {
    repository: null,
    repositorySource: null,
    commit: null,
    files: [],
    diffUnavailable: null,
    diffNotes: [],
    diffForAnalysis: null,
    suspects: [],
    pullRequest: null,
    workItem: null,
    problems: [],
    agentSessions: [],
    predates: null,
    suspectCommits: [],
    introducedBy: null,
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
