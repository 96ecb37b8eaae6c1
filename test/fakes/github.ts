import { execFileSync } from "node:child_process";
import type { RestEndpointMethodTypes } from "@octokit/rest";
import { type FakeReply, type FakeServer, startFakeServer } from "./server.ts";

type CommitData = RestEndpointMethodTypes["repos"]["getCommit"]["response"]["data"];
type CommitFile = NonNullable<CommitData["files"]>[number];
type PullSimple =
  RestEndpointMethodTypes["repos"]["listPullRequestsAssociatedWithCommit"]["response"]["data"][number];
/** The fields tracefix reads, typed against Octokit's own PR type. */
export type FakePull = Pick<
  PullSimple,
  "number" | "title" | "body" | "merged_at" | "html_url" | "state" | "draft"
> & {
  head: Pick<PullSimple["head"], "ref" | "sha" | "label">;
  user: Pick<NonNullable<PullSimple["user"]>, "login" | "id" | "type"> | null;
};

interface FakeCommit {
  data: CommitData;
  diff: string;
}

export interface FakeRepo {
  commits: Map<string, FakeCommit>;
  pullsByCommit: Map<string, FakePull[]>;
  /** SHAs whose diff media type answers 406 too_large, as GitHub does past ~300 files / 20k lines. */
  tooLarge: Set<string>;
}

export interface FakeGitHub extends FakeServer {
  repos: Map<string, FakeRepo>;
  /** Answer the next n requests with a primary rate-limit 403 (x-ratelimit-remaining: 0). */
  exhaustRateLimit(times: number): void;
}

/**
 * GitHub's REST API for the calls tracefix makes, at `/` (github.com) or `/api/v3` (GHES): commits
 * as JSON or the diff media type, commit → pulls, token auth, 404s, rate limits. Octokit URL-encodes
 * path parameters; the fake decodes them.
 */
export async function startFakeGitHub(options: { token: string; prefix?: string }): Promise<FakeGitHub> {
  const repos = new Map<string, FakeRepo>();
  const prefix = options.prefix ?? "";
  let rateLimited = 0;
  const server = await startFakeServer((request, url) => {
    const auth = request.headers.authorization ?? "";
    if (
      auth !== `token ${options.token}` &&
      auth !== `bearer ${options.token}` &&
      auth !== `Bearer ${options.token}`
    ) {
      return json(401, {
        message: "Bad credentials",
        documentation_url: "https://docs.github.com/rest",
        status: "401",
      });
    }
    const version = request.headers["x-github-api-version"];
    if (version !== undefined && version !== "2022-11-28" && version !== "2026-03-10") {
      return json(400, { message: `Invalid API version: ${String(version)}` });
    }
    if (rateLimited > 0) {
      rateLimited -= 1;
      return {
        status: 403,
        body: {
          message: "API rate limit exceeded",
          documentation_url: "https://docs.github.com/rest/rate-limit",
        },
        headers: {
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": String(Math.ceil(Date.now() / 1000) + 1),
        },
      };
    }
    if (!url.pathname.startsWith(`${prefix}/repos/`)) return json(404, { message: "Not Found" });
    const parts = url.pathname.slice(prefix.length).split("/").filter(Boolean).map(decodeURIComponent);
    const [, owner, name, resource, ref, tail] = parts;
    const repo = repos.get(`${owner}/${name}`);
    if (!repo) return json(404, { message: "Not Found" });
    if (request.method === "GET" && resource === "commits" && ref && tail === "pulls") {
      const commit = findCommit(repo, ref);
      if (!commit) return json(422, { message: `No commit found for SHA: ${ref}` });
      return json(200, repo.pullsByCommit.get(commit.data.sha) ?? []);
    }
    if (request.method === "GET" && resource === "commits" && ref && tail === undefined) {
      const commit = findCommit(repo, ref);
      if (!commit) return json(404, { message: `No commit found for SHA: ${ref}` });
      if (/application\/vnd\.github(?:\.v3)?\.diff/.test(request.headers.accept ?? "")) {
        if (repo.tooLarge.has(commit.data.sha)) {
          return json(406, {
            message: "Sorry, the diff exceeded the maximum number of files (300).",
            errors: [{ resource: "Commit", field: "diff", code: "too_large" }],
            documentation_url: "https://docs.github.com/rest/commits/commits#get-a-commit",
          });
        }
        return {
          status: 200,
          body: null,
          text: commit.diff,
          headers: { "content-type": "application/vnd.github.diff; charset=utf-8" },
        };
      }
      return json(200, commit.data);
    }
    return json(404, { message: "Not Found" });
  });
  return Object.assign(server, {
    repos,
    exhaustRateLimit(times: number) {
      rateLimited = times;
    },
  });
}

function json(status: number, body: unknown): FakeReply {
  return { status, body };
}

function findCommit(repo: FakeRepo, ref: string): FakeCommit | undefined {
  return repo.commits.get(ref) ?? [...repo.commits.values()].find((c) => c.data.sha.startsWith(ref));
}

/** Loads every commit of a real local git repository, as GitHub would serve it. */
export function loadRepository(dir: string, owner: string, name: string): FakeRepo {
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  const shas = git("rev-list", "--all").trim().split("\n").filter(Boolean);
  const commits = new Map<string, FakeCommit>();
  for (const sha of shas) {
    const [parents = "", author = "", email = "", date = "", ...message] = git(
      "show",
      "-s",
      "--format=%P%n%an%n%ae%n%aI%n%B",
      sha,
    ).split("\n");
    const diff = git("diff-tree", "-p", "-M", "--no-commit-id", "--root", sha);
    const base = `https://api.github.com/repos/${owner}/${name}`;
    const data: CommitData = {
      url: `${base}/commits/${sha}`,
      sha,
      node_id: `C_${sha.slice(0, 12)}`,
      html_url: `https://github.com/${owner}/${name}/commit/${sha}`,
      comments_url: `${base}/commits/${sha}/comments`,
      commit: {
        url: `${base}/git/commits/${sha}`,
        author: { name: author, email, date },
        committer: { name: author, email, date },
        message: message.join("\n").trim(),
        comment_count: 0,
        tree: { sha: "0".repeat(40), url: `${base}/git/trees/${"0".repeat(40)}` },
      },
      author: null,
      committer: null,
      parents: parents
        .split(" ")
        .filter(Boolean)
        .map((p) => ({
          sha: p,
          url: `${base}/commits/${p}`,
          html_url: `https://github.com/${owner}/${name}/commit/${p}`,
        })),
      files: filesOf(diff),
    };
    commits.set(sha, { data, diff });
  }
  return { commits, pullsByCommit: new Map(), tooLarge: new Set() };
}

/** GitHub's files[]: one entry per file, `patch` = the hunks without the file headers (absent for binaries). */
export function filesOf(diff: string): CommitFile[] {
  return diff
    .split(/^(?=diff --git )/m)
    .filter((chunk) => chunk.startsWith("diff --git "))
    .map((chunk): CommitFile => {
      const [, oldName = "", newName = ""] = /^diff --git a\/(\S+) b\/(\S+)/.exec(chunk) ?? [];
      const hunkStart = chunk.indexOf("\n@@");
      const patch = hunkStart >= 0 ? chunk.slice(hunkStart + 1).replace(/\n$/, "") : undefined;
      const lines = patch?.split("\n") ?? [];
      const additions = lines.filter((l) => l.startsWith("+")).length;
      const deletions = lines.filter((l) => l.startsWith("-")).length;
      const status = /\nnew file mode/.test(chunk)
        ? "added"
        : /\ndeleted file mode/.test(chunk)
          ? "removed"
          : /\nrename from/.test(chunk)
            ? "renamed"
            : "modified";
      return {
        sha: "0".repeat(40),
        filename: newName,
        status,
        additions,
        deletions,
        changes: additions + deletions,
        blob_url: "",
        raw_url: "",
        contents_url: "",
        ...(patch !== undefined ? { patch } : {}),
        ...(status === "renamed" ? { previous_filename: oldName } : {}),
      };
    });
}

export function fakePull(overrides: Partial<FakePull> & Pick<FakePull, "number" | "title">): FakePull {
  return {
    body: null,
    merged_at: "2026-11-20T05:45:00Z",
    html_url: `https://github.com/acme/billing-service/pull/${overrides.number}`,
    state: "closed",
    draft: false,
    head: { ref: "feature/x", sha: "0".repeat(40), label: "acme:feature/x" },
    user: { login: "dana", id: 1, type: "User" },
    ...overrides,
  };
}
