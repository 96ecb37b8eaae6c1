import type { GitHubClient } from "../evidence/github.ts";
import type { RepoRef } from "../evidence/repository.ts";
import { type ActionResult, branchFor } from "./action.ts";
import { applyFilePatches, type FilePatch } from "./gate.ts";
import { type FailureKind, writeOnce } from "./write-once.ts";

export interface DraftPullRequest {
  repo: RepoRef;
  fingerprint: string;
  title: string;
  body: string;
  labels: string[];
  files: FilePatch[];
  /** Waits before each look for the PR when the reply to its creation was lost. */
  confirmLooksMs: readonly number[];
}

const COMMIT_MARKER = "tracefix-fingerprint:";

/**
 * Opens the draft PR for a fingerprint with four writes and no checkout: the branch at the default
 * branch's head, one commit of the patched files on it (GraphQL createCommitOnBranch, which only
 * applies while the branch still points where it was read), the pull, its labels. GitHub paces
 * writes a second or more apart, so each write saved is a second of the night.
 * At most one PR per fingerprint ever: an existing one (any state) is reported, not duplicated;
 * a branch that holds someone else's commits is never written to.
 */
export async function openDraftPullRequest(
  octokit: GitHubClient,
  pr: DraftPullRequest,
): Promise<ActionResult> {
  const { owner, repo } = pr.repo;
  const branch = branchFor(pr.fingerprint);
  const existing = await findPullRequest(octokit, pr.repo, branch);
  if (existing) return existing;

  const { data: repository } = await octokit.rest.repos.get({ owner, repo });
  const base = repository.default_branch;
  const { data: baseRef } = await octokit.rest.git.getRef({ owner, repo, ref: `heads/${base}` });
  const baseSha = baseRef.object.sha;

  const contents = new Map<string, string | null>();
  for (const file of pr.files) contents.set(file.path, await readFile(octokit, pr.repo, file.path, baseSha));
  const patched = applyFilePatches(pr.files, contents);
  if (typeof patched === "string") return skipped(`${patched} at the head of ${base}; the code has moved on`);

  let head = await branchHead(octokit, pr.repo, branch, pr.fingerprint, baseSha);
  if (head === "foreign")
    return skipped(`branch ${branch} exists with commits tracefix did not make; it is never force-pushed`);
  if (head === null) {
    try {
      await octokit.rest.git.createRef({ owner, repo, ref: `refs/heads/${branch}`, sha: baseSha });
      head = { sha: baseSha, committed: false, behind: false };
    } catch (error) {
      if (status(error) !== 422) throw error;
      // Another run made the branch between our check and now: use it if nothing foreign is on it.
      head = await branchHead(octokit, pr.repo, branch, pr.fingerprint, baseSha);
      if (head === null || head === "foreign")
        return skipped(`branch ${branch} appeared while this run was creating it`);
    }
  }
  if (head.behind) {
    // A run that died after making the branch left it at an older head: bring it to the code the
    // patch was checked against (a fast-forward only, so nothing on it can be lost).
    await octokit.rest.git.updateRef({ owner, repo, ref: `heads/${branch}`, sha: baseSha, force: false });
    head = { sha: baseSha, committed: false, behind: false };
  }
  if (!head.committed) await commitPatch(octokit, pr, branch, head.sha, patched);

  // GitHub refuses a second open PR for one head (422), but its retry would then report our own
  // PR as someone else's: the create is sent without the retry plugin, and a lost reply is
  // confirmed by looking the PR up by its branch.
  let created: Awaited<ReturnType<typeof createPull>>;
  try {
    created = await createPull(octokit, pr, branch, base);
  } catch (error) {
    if (status(error) !== 422) throw error;
    const raced = await findPullRequest(octokit, pr.repo, branch);
    if (raced) return raced;
    throw error;
  }
  const { number, url } = created.value;
  try {
    if (pr.labels.length > 0)
      await octokit.rest.issues.addLabels({ owner, repo, issue_number: number, labels: pr.labels });
  } catch (error) {
    return {
      kind: "pull_request",
      status: "created",
      url,
      reason: `draft PR #${number} opened; labels not added (${message(error)})`,
    };
  }
  const note = created.recovered ? " (the reply was lost; found by its branch)" : "";
  return { kind: "pull_request", status: "created", url, reason: `draft PR #${number} on ${branch}${note}` };
}

function createPull(octokit: GitHubClient, pr: DraftPullRequest, branch: string, base: string) {
  const { owner, repo } = pr.repo;
  return writeOnce({
    write: async () => {
      const { data } = await octokit.rest.pulls.create({
        owner,
        repo,
        title: pr.title,
        head: branch,
        base,
        body: pr.body,
        draft: true,
        request: { retries: 0 },
      });
      // An unreadable reply carries no number: the PR may exist all the same.
      if (typeof data?.number !== "number" || !data.html_url)
        throw new Error("GitHub did not return the new PR");
      return { number: data.number, url: data.html_url };
    },
    find: async () => {
      const { data } = await octokit.rest.pulls.list({
        owner,
        repo,
        head: `${owner}:${branch}`,
        state: "all",
        per_page: 5,
      });
      const pull = data[0];
      return pull ? { number: pull.number, url: pull.html_url } : null;
    },
    classify: classifyGitHubFailure,
    lookDelaysMs: pr.confirmLooksMs,
  });
}

/** Octokit errors: 5xx and transport failures (no status, or the 500 Octokit gives them) may have applied. */
export function classifyGitHubFailure(error: unknown): FailureKind {
  const code = status(error);
  if (code === undefined || code >= 500) return { kind: "ambiguous" };
  if (code === 429) return { kind: "not_applied", waitMs: retryAfterMs(error) };
  return { kind: "final" };
}

function retryAfterMs(error: unknown): number {
  const headers = (error as { response?: { headers?: Record<string, string | undefined> } }).response
    ?.headers;
  const seconds = Number(headers?.["retry-after"] ?? 1);
  return Number.isFinite(seconds) ? seconds * 1000 : 1000;
}

async function findPullRequest(
  octokit: GitHubClient,
  repo: RepoRef,
  branch: string,
): Promise<ActionResult | null> {
  const { data } = await octokit.rest.pulls.list({
    owner: repo.owner,
    repo: repo.repo,
    head: `${repo.owner}:${branch}`,
    state: "all",
    per_page: 5,
  });
  const pull = data[0];
  if (!pull) return null;
  return {
    kind: "pull_request",
    status: "skipped",
    url: pull.html_url,
    reason: `PR #${pull.number} (${pull.state}) already exists for this fingerprint; tracefix never opens a second one`,
  };
}

type BranchHead = { sha: string; committed: boolean; behind: boolean } | "foreign" | null;

/**
 * The branch as this run finds it, read only (it also serves as the look after a lost commit
 * reply): absent (null); tracefix's commit on it (committed); nothing of anyone's on it yet,
 * because it points at the default branch's head or at an older commit of it (behind); or
 * "foreign".
 */
async function branchHead(
  octokit: GitHubClient,
  repo: RepoRef,
  branch: string,
  fingerprint: string,
  baseSha: string,
): Promise<BranchHead> {
  const { owner, repo: name } = repo;
  let sha: string;
  try {
    const { data: ref } = await octokit.rest.git.getRef({ owner, repo: name, ref: `heads/${branch}` });
    sha = ref.object.sha;
  } catch (error) {
    if (status(error) === 404) return null;
    throw error;
  }
  if (sha === baseSha) return { sha, committed: false, behind: false };
  const { data: commit } = await octokit.rest.git.getCommit({ owner, repo: name, commit_sha: sha });
  if (commit.message.includes(`${COMMIT_MARKER} ${fingerprint}`))
    return { sha, committed: true, behind: false };
  // A run that died after making the branch leaves it at an older head of the default branch.
  const { data: compared } = await octokit.rest.repos.compareCommits({
    owner,
    repo: name,
    base: sha,
    head: baseSha,
  });
  return compared.status === "ahead" ? { sha, committed: false, behind: true } : "foreign";
}

/**
 * The patched files as one commit on the branch, only while it still points at `expected`. A lost
 * reply is confirmed by looking at the branch; a commit another run made first is as good as ours.
 */
async function commitPatch(
  octokit: GitHubClient,
  pr: DraftPullRequest,
  branch: string,
  expected: string,
  patched: Map<string, string>,
): Promise<void> {
  const committed = async () => {
    const head = await branchHead(octokit, pr.repo, branch, pr.fingerprint, expected);
    return head !== null && head !== "foreign" && head.committed ? true : null;
  };
  try {
    await writeOnce({
      write: async () => {
        await octokit.graphql(COMMIT_ON_BRANCH, {
          input: {
            branch: { repositoryNameWithOwner: `${pr.repo.owner}/${pr.repo.repo}`, branchName: branch },
            message: { headline: pr.title, body: `${COMMIT_MARKER} ${pr.fingerprint}` },
            expectedHeadOid: expected,
            fileChanges: {
              additions: [...patched].map(([path, content]) => ({
                path,
                contents: Buffer.from(content, "utf8").toString("base64"),
              })),
            },
          },
          request: { retries: 0 },
        });
        return true;
      },
      find: committed,
      classify: (error) => (isStale(error) ? { kind: "final" } : classifyGitHubFailure(error)),
      lookDelaysMs: pr.confirmLooksMs,
    });
  } catch (error) {
    // The branch moved under us: fine if it was another run committing the same fix.
    if (!isStale(error) || !(await committed())) throw error;
  }
}

const COMMIT_ON_BRANCH = `mutation($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) { commit { oid } }
}`;

function isStale(error: unknown): boolean {
  const errors = (error as { errors?: Array<{ type?: string }> }).errors;
  return Array.isArray(errors) && errors.some((e) => e.type === "STALE_DATA");
}

async function readFile(
  octokit: GitHubClient,
  repo: RepoRef,
  path: string,
  ref: string,
): Promise<string | null> {
  try {
    const { data } = await octokit.rest.repos.getContent({ owner: repo.owner, repo: repo.repo, path, ref });
    if (Array.isArray(data) || data.type !== "file" || !("content" in data)) return null;
    return Buffer.from(data.content, "base64").toString("utf8");
  } catch (error) {
    if (status(error) === 404) return null;
    throw error;
  }
}

function skipped(reason: string): ActionResult {
  return { kind: "pull_request", status: "skipped", reason };
}

function status(error: unknown): number | undefined {
  return (error as { status?: number }).status;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
