import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import { Octokit } from "@octokit/rest";
import type { CommitInfo, CommitWithDiff } from "./git.ts";
import { type HostCircuit, HostUnreachableError } from "./host-circuit.ts";
import type { RepoRef } from "./repository.ts";

/** Pinned so a GitHub default change cannot silently change response shapes. */
export const GITHUB_API_VERSION = "2022-11-28";
// GitHub's JSON commit lists at most 300 files; past that only the diff media type has them all.
const MAX_LISTED_FILES = 300;

const TracefixOctokit = Octokit.plugin(retry, throttling);
export type GitHubClient = InstanceType<typeof TracefixOctokit>;

export interface GitHubClientOptions {
  token: string;
  apiUrl: string;
  timeoutMs: number;
  retries: number;
  /** Base of the retry plugin's backoff and the throttling plugin's fallback wait; lower in tests. */
  retryAfterBaseMs?: number;
  /** Octokit's write spacing; off only against a local fake. */
  throttle?: boolean;
  /** Shared with the rest of the run: a dead host fails fast after its first refused connection. */
  circuit?: HostCircuit;
  /** Octokit's per-request log lines (method, path, status, time); silent unless --verbose. */
  log?: (line: string) => void;
}

// A status GitHub never sends: a connection that was never made, or a host already known dead.
// It is on the retry plugin's do-not-retry list, so a dead host costs no backoff either.
const UNREACHABLE_STATUS = 599;

export interface PullRequestInfo {
  number: number;
  title: string;
  body: string;
  branch: string;
  author: string | null;
  mergedAt: string | null;
  url: string;
}

/**
 * Octokit with the retry (5xx) and throttling (primary and secondary rate limits, Retry-After)
 * plugins, the API version pinned on every request, and a per-call time bound.
 */
export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const octokit = new TracefixOctokit({
    auth: options.token,
    baseUrl: options.apiUrl.replace(/\/+$/, ""),
    userAgent: "tracefix",
    // A fresh time bound per fetch, so each retry of the retry plugin gets its own.
    request: { fetch: timedFetch(options.timeoutMs, options.circuit) },
    retry: {
      retries: options.retries,
      retryAfterBaseValue: options.retryAfterBaseMs ?? 1000,
      doNotRetry: [400, 401, 403, 404, 410, 422, 451, UNREACHABLE_STATUS],
    },
    // Octokit's own log would print "500 with id UNKNOWN" for a refused connection; the report
    // says what happened instead, and --verbose shows the request lines.
    log: {
      debug: () => {},
      info: (line: string) => options.log?.(line),
      warn: (line: string) => options.log?.(line),
      error: (line: string) => options.log?.(line),
    },
    throttle: {
      enabled: options.throttle ?? true,
      fallbackSecondaryRateRetryAfter: 60,
      retryAfterBaseValue: options.retryAfterBaseMs ?? 1000,
      onRateLimit: (_after: number, _request: unknown, _octokit: unknown, retryCount: number) =>
        retryCount < options.retries,
      onSecondaryRateLimit: (_after: number, _request: unknown, _octokit: unknown, retryCount: number) =>
        retryCount < options.retries,
    },
  });
  octokit.hook.before("request", (request) => {
    request.headers["x-github-api-version"] = GITHUB_API_VERSION;
  });
  return octokit;
}

function timedFetch(timeoutMs: number, circuit: HostCircuit | undefined): typeof fetch {
  return async (input, init) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    if (!circuit) return fetch(input, { ...init, signal });
    try {
      return await circuit.run(() => fetch(input, { ...init, signal }));
    } catch (error) {
      if (!(error instanceof HostUnreachableError)) throw error;
      return new Response(JSON.stringify({ message: error.message }), {
        status: UNREACHABLE_STATUS,
        headers: { "content-type": "application/json" },
      });
    }
  };
}

/**
 * The commit and its diff. The JSON form gives metadata and per-file patches; the diff media type
 * is fetched only when the JSON is incomplete (300+ files, patches left out), and a 406 too_large
 * falls back to the per-file patches with a note saying what is missing.
 */
export async function readCommitFromGitHub(
  octokit: GitHubClient,
  ref: RepoRef,
  sha: string,
): Promise<CommitWithDiff & { notes: string[] }> {
  const { data } = await octokit.rest.repos.getCommit({ owner: ref.owner, repo: ref.repo, ref: sha });
  const files = data.files ?? [];
  const commit: CommitInfo = {
    sha: data.sha,
    parents: data.parents.map((p) => p.sha),
    author: data.commit.author?.name ?? data.author?.login ?? "",
    authoredAt: data.commit.author?.date ?? "",
    subject: data.commit.message.split("\n", 1)[0] ?? "",
  };
  const notes: string[] = [];
  const withoutPatch = files.filter(
    (f) => f.patch === undefined && f.status !== "renamed" && f.status !== "removed",
  );
  const incomplete = files.length >= MAX_LISTED_FILES || withoutPatch.length > 0;
  if (incomplete) {
    try {
      const diff = await octokit.rest.repos.getCommit({
        owner: ref.owner,
        repo: ref.repo,
        ref: sha,
        mediaType: { format: "diff" },
      });
      return { commit, diffText: String(diff.data), notes };
    } catch (error) {
      if ((error as { status?: number }).status !== 406) throw error;
      notes.push("GitHub refused the full diff as too large (406); using the per-file patches");
    }
  }
  if (files.length >= MAX_LISTED_FILES)
    notes.push(`GitHub listed only the first ${MAX_LISTED_FILES} changed files`);
  if (withoutPatch.length > 0) {
    notes.push(
      `${withoutPatch.length} file(s) without a patch (binary or too large): ${withoutPatch
        .map((f) => f.filename)
        .slice(0, 10)
        .join(", ")}`,
    );
  }
  return { commit, diffText: files.map(fileToDiff).join(""), notes };
}

type CommitFile = NonNullable<
  Awaited<ReturnType<GitHubClient["rest"]["repos"]["getCommit"]>>["data"]["files"]
>[number];

function fileToDiff(file: CommitFile): string {
  const oldName = file.previous_filename ?? file.filename;
  const header = [`diff --git a/${oldName} b/${file.filename}`];
  if (file.status === "renamed") header.push(`rename from ${oldName}`, `rename to ${file.filename}`);
  if (file.status === "added") header.push("new file mode 100644");
  if (file.status === "removed") header.push("deleted file mode 100644");
  if (file.patch === undefined) {
    if (file.status !== "renamed") header.push(`Binary files a/${oldName} and b/${file.filename} differ`);
    return `${header.join("\n")}\n`;
  }
  header.push(file.status === "added" ? "--- /dev/null" : `--- a/${oldName}`);
  header.push(file.status === "removed" ? "+++ /dev/null" : `+++ b/${file.filename}`);
  return `${header.join("\n")}\n${file.patch}\n`;
}

/** The PR that brought the commit in: the merged one when several are associated. */
export async function findIntroducingPullRequest(
  octokit: GitHubClient,
  ref: RepoRef,
  sha: string,
): Promise<PullRequestInfo | null> {
  const { data } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({
    owner: ref.owner,
    repo: ref.repo,
    commit_sha: sha,
  });
  const pull = data.find((p) => p.merged_at) ?? data[0];
  if (!pull) return null;
  return {
    number: pull.number,
    title: pull.title,
    body: pull.body ?? "",
    branch: pull.head.ref,
    author: pull.user?.login ?? null,
    mergedAt: pull.merged_at,
    url: pull.html_url,
  };
}
