import { execFileSync } from "node:child_process";
import type { RestEndpointMethodTypes } from "@octokit/rest";
import { commitHash, type GitStore, loadGitStore, treeHash } from "./github-git.ts";
import { ancestors, blameRanges, compare, firstParentOrder } from "./github-history.ts";
import { type FakeReply, type FakeServer, type RecordedRequest, startFakeServer } from "./server.ts";

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

interface CommitOnBranchInput {
  branch?: { repositoryNameWithOwner?: string; branchName?: string };
  message?: { headline?: string; body?: string };
  expectedHeadOid?: string;
  fileChanges?: {
    additions?: Array<{ path: string; contents: string }>;
    deletions?: Array<{ path: string }>;
  };
}

export interface FakeRepo {
  commits: Map<string, FakeCommit>;
  pullsByCommit: Map<string, FakePull[]>;
  /** SHAs whose diff media type answers 406 too_large, as GitHub does past ~300 files / 20k lines. */
  tooLarge: Set<string>;
  /** Git objects and refs, for the git data API and the contents API. */
  git?: GitStore;
  /** Pull requests opened through the API, in order. */
  pulls: OpenedPull[];
  /** The token may read but not push (permissions.push false), as a read-only token would. */
  readOnly?: boolean;
  /** Entries a recursive tree lists before it says `truncated` (GitHub: 100,000 entries or 7 MB). */
  treeEntryLimit?: number;
}

export interface OpenedPull {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  draft: boolean;
  state: "open" | "closed";
  labels: string[];
  html_url: string;
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
export async function startFakeGitHub(options: {
  token: string;
  prefix?: string;
  /** The classic token's scopes, as GitHub reports them in x-oauth-scopes. */
  scopes?: string;
}): Promise<FakeGitHub> {
  const repos = new Map<string, FakeRepo>();
  const prefix = options.prefix ?? "";
  let rateLimited = 0;
  // POST /graphql: the one query tracefix sends, a commit's blame of one path (GraphQL answers 200
  // with `errors` for what it cannot resolve, as GitHub does).
  const graphql = (text: string): FakeReply => {
    let body: { query?: string; variables?: Record<string, string> };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return json(400, { message: "Problems parsing JSON" });
    }
    if (/createCommitOnBranch\(input:\s*\$input\)/.test(body.query ?? ""))
      return commitOnBranch((body.variables as unknown as { input?: CommitOnBranchInput })?.input);
    const v = body.variables ?? {};
    if (!/blame\(path:\s*\$path\)/.test(body.query ?? "") || !v.owner || !v.name || !v.expression || !v.path)
      return json(200, { errors: [{ type: "INVALID", message: "the fake answers a commit's blame only" }] });
    const repo = repos.get(`${v.owner}/${v.name}`);
    const git = repo?.git;
    const sha =
      git &&
      (git.commits.has(v.expression)
        ? v.expression
        : [...git.commits.keys()].find((s) => s.startsWith(v.expression ?? "-")));
    if (!git || !sha)
      return json(200, {
        data: { repository: repo ? { object: null } : null },
        errors: [{ type: "NOT_FOUND", message: `Could not resolve to a Repository or commit` }],
      });
    const ranges = blameRanges(git, sha, v.path);
    if (!ranges) return json(200, { data: { repository: { object: { blame: { ranges: [] } } } } });
    return json(200, { data: { repository: { object: { blame: { ranges } } } } });
  };
  // mutation createCommitOnBranch: one commit on an existing branch, only if its head is still
  // expectedHeadOid (STALE_DATA otherwise), with base64 file contents, as GitHub answers it.
  const commitOnBranch = (input: CommitOnBranchInput | undefined): FakeReply => {
    const problem = (type: string, message: string) =>
      json(200, { data: { createCommitOnBranch: null }, errors: [{ type, message }] });
    const name = input?.branch?.branchName?.replace(/^refs\/heads\//, "");
    const repo = repos.get(input?.branch?.repositoryNameWithOwner ?? "");
    const git = repo?.git;
    if (!input?.message?.headline || !input.expectedHeadOid || !name)
      return problem("INVALID", "branch, message.headline and expectedHeadOid are required");
    if (!git) return problem("NOT_FOUND", "Could not resolve to a Repository");
    if (repo.readOnly) return problem("FORBIDDEN", "Resource not accessible by integration");
    const head = git.branches.get(name);
    if (!head) return problem("NOT_FOUND", `A ref named "${name}" does not exist`);
    if (head !== input.expectedHeadOid)
      return problem(
        "STALE_DATA",
        `Expected branch to point to "${input.expectedHeadOid}" but it did not. Pull and try again.`,
      );
    const files = new Map(git.trees.get(git.commits.get(head)?.tree ?? "") ?? []);
    for (const { path, contents } of input.fileChanges?.additions ?? [])
      files.set(path, Buffer.from(contents, "base64").toString("utf8"));
    for (const { path } of input.fileChanges?.deletions ?? []) files.delete(path);
    const tree = treeHash(files);
    git.trees.set(tree, files);
    const message = [input.message.headline, input.message.body].filter(Boolean).join("\n\n");
    const oid = commitHash(tree, message, [head]);
    git.commits.set(oid, { tree, message, parents: [head] });
    git.branches.set(name, oid);
    return json(200, {
      data: { createCommitOnBranch: { commit: { oid, url: `https://github.com/commit/${oid}` } } },
    });
  };
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
    if (request.method === "GET" && url.pathname === `${prefix}/user`) {
      return {
        status: 200,
        body: { login: "tracefix-bot", id: 4242, type: "User", site_admin: false },
        headers: { "x-oauth-scopes": options.scopes ?? "repo" },
      };
    }
    if (
      request.method === "POST" &&
      (url.pathname === `${prefix}/graphql` || url.pathname === "/api/graphql")
    ) {
      return graphql(request.body);
    }
    if (!url.pathname.startsWith(`${prefix}/repos/`)) return json(404, { message: "Not Found" });
    const parts = url.pathname.slice(prefix.length).split("/").filter(Boolean).map(decodeURIComponent);
    const [, owner, name, resource, ref, tail] = parts;
    const repo = repos.get(`${owner}/${name}`);
    if (!repo) return json(404, { message: "Not Found" });
    const written = gitDataApi(repo, `${owner}/${name}`, request, parts.slice(3), url);
    if (written) return written;
    const history = historyApi(repo, resource, ref, url);
    if (history) return history;
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

/**
 * Repository, refs, git commits and trees, contents, pulls and labels: stateful, with GitHub's 422s
 * for an existing ref or an existing PR for the same head.
 */
function gitDataApi(
  repo: FakeRepo,
  slug: string,
  request: RecordedRequest,
  rest: string[],
  url: URL,
): FakeReply | null {
  const git = repo.git;
  const body = request.body ? (JSON.parse(request.body) as Record<string, unknown>) : {};
  const [resource, ...tail] = rest;
  if (request.method === "GET" && resource === undefined) {
    return json(200, {
      name: slug.split("/")[1],
      full_name: slug,
      default_branch: git?.defaultBranch ?? "main",
      private: true,
      permissions: { admin: false, maintain: false, push: !repo.readOnly, triage: true, pull: true },
    });
  }
  if (!git) return null;
  if (resource === "git" && tail[0] === "ref" && request.method === "GET") {
    const ref = tail.slice(1).join("/");
    const sha = ref.startsWith("heads/") ? git.branches.get(ref.slice("heads/".length)) : undefined;
    if (!sha) return json(404, { message: "Not Found" });
    return json(200, { ref: `refs/${ref}`, node_id: "R", url: "", object: { sha, type: "commit", url: "" } });
  }
  if (resource === "git" && tail[0] === "commits" && request.method === "GET" && tail[1]) {
    const commit = git.commits.get(tail[1]);
    if (!commit) return json(404, { message: "Not Found" });
    return json(200, {
      sha: tail[1],
      message: commit.message,
      tree: { sha: commit.tree, url: "" },
      parents: commit.parents.map((p) => ({ sha: p, url: "", html_url: "" })),
    });
  }
  if (resource === "git" && tail[0] === "trees" && request.method === "POST") {
    const base = git.trees.get(String(body.base_tree));
    if (!base) return json(422, { message: "base_tree is not a valid tree" });
    const files = new Map(base);
    for (const entry of (body.tree as Array<{
      path: string;
      mode: string;
      type: string;
      content?: string;
    }>) ?? []) {
      if (entry.type !== "blob" || typeof entry.content !== "string" || !/^100(644|755)$/.test(entry.mode))
        return json(422, { message: "Invalid tree entry" });
      files.set(entry.path, entry.content);
    }
    const sha = treeHash(files);
    git.trees.set(sha, files);
    return json(201, { sha, url: "", truncated: false, tree: [] });
  }
  if (resource === "git" && tail[0] === "commits" && request.method === "POST") {
    const tree = String(body.tree);
    const parents = (body.parents as string[]) ?? [];
    if (!git.trees.has(tree) || parents.some((p) => !git.commits.has(p)))
      return json(422, { message: "Tree or parent SHA does not exist" });
    const sha = commitHash(tree, String(body.message), parents);
    git.commits.set(sha, { tree, message: String(body.message), parents });
    return json(201, {
      sha,
      message: body.message,
      tree: { sha: tree, url: "" },
      parents: parents.map((p) => ({ sha: p, url: "", html_url: "" })),
    });
  }
  if (
    resource === "git" &&
    tail[0] === "refs" &&
    tail.slice(1).join("/").startsWith("heads/") &&
    request.method === "PATCH"
  ) {
    const branch = tail.slice(1).join("/").slice("heads/".length);
    const current = git.branches.get(branch);
    const sha = String(body.sha);
    if (!current) return json(422, { message: "Reference does not exist" });
    if (!git.commits.has(sha)) return json(422, { message: "Object does not exist" });
    if (body.force !== true && !ancestors(git, sha).has(current))
      return json(422, { message: "Update is not a fast forward" });
    git.branches.set(branch, sha);
    return json(200, {
      ref: `refs/heads/${branch}`,
      node_id: "R",
      url: "",
      object: { sha, type: "commit", url: "" },
    });
  }
  if (resource === "git" && tail[0] === "refs" && request.method === "POST") {
    const ref = String(body.ref);
    if (!ref.startsWith("refs/heads/")) return json(422, { message: "Reference name is invalid" });
    const branch = ref.slice("refs/heads/".length);
    if (git.branches.has(branch)) return json(422, { message: "Reference already exists" });
    if (!git.commits.has(String(body.sha))) return json(422, { message: "Object does not exist" });
    git.branches.set(branch, String(body.sha));
    return json(201, { ref, node_id: "R", url: "", object: { sha: body.sha, type: "commit", url: "" } });
  }
  if (resource === "contents" && request.method === "GET") {
    const path = tail.join("/");
    const ref = url.searchParams.get("ref") ?? git.defaultBranch;
    const sha = git.branches.get(ref) ?? ref;
    const content = git.trees.get(git.commits.get(sha)?.tree ?? "")?.get(path);
    if (content === undefined) return json(404, { message: "Not Found" });
    return json(200, {
      type: "file",
      encoding: "base64",
      size: content.length,
      name: path.split("/").pop(),
      path,
      sha: "0".repeat(40),
      content: Buffer.from(content).toString("base64"),
      url: "",
      git_url: null,
      html_url: null,
      download_url: null,
      _links: { self: "", git: null, html: null },
    });
  }
  if (resource === "pulls" && request.method === "GET" && tail.length === 0) {
    const head = url.searchParams.get("head");
    const state = url.searchParams.get("state") ?? "open";
    const found = repo.pulls.filter(
      (p) => (!head || `${slug.split("/")[0]}:${p.head}` === head) && (state === "all" || p.state === state),
    );
    return json(200, found.map(pullJson));
  }
  if (resource === "pulls" && request.method === "POST" && tail.length === 0) {
    const head = String(body.head);
    if (!body.title || !body.base)
      return json(422, {
        message: "Validation Failed",
        errors: [{ resource: "PullRequest", code: "missing_field" }],
      });
    if (!git.branches.has(head))
      return json(422, {
        message: "Validation Failed",
        errors: [{ resource: "PullRequest", field: "head", code: "invalid" }],
      });
    if (repo.pulls.some((p) => p.head === head && p.state === "open")) {
      return json(422, {
        message: "Validation Failed",
        errors: [
          {
            resource: "PullRequest",
            code: "custom",
            message: `A pull request already exists for ${slug.split("/")[0]}:${head}.`,
          },
        ],
      });
    }
    const number = 100 + repo.pulls.length + 1;
    const pull: OpenedPull = {
      number,
      title: String(body.title),
      body: String(body.body ?? ""),
      head,
      base: String(body.base),
      draft: body.draft === true,
      state: "open",
      labels: [],
      html_url: `https://github.com/${slug}/pull/${number}`,
    };
    repo.pulls.push(pull);
    return json(201, pullJson(pull));
  }
  if (resource === "issues" && tail[1] === "labels" && request.method === "POST") {
    const pull = repo.pulls.find((p) => p.number === Number(tail[0]));
    if (!pull) return json(404, { message: "Not Found" });
    // Labels are a set on GitHub: adding one the issue already has changes nothing.
    for (const label of (body.labels as string[]) ?? [])
      if (!pull.labels.includes(label)) pull.labels.push(label);
    return json(
      200,
      pull.labels.map((name, id) => ({
        id,
        name,
        node_id: "L",
        url: "",
        color: "ededed",
        default: false,
        description: null,
      })),
    );
  }
  return null;
}

function pullJson(p: OpenedPull) {
  return {
    number: p.number,
    title: p.title,
    body: p.body,
    state: p.state,
    draft: p.draft,
    html_url: p.html_url,
    head: { ref: p.head, sha: "", label: p.head },
    base: { ref: p.base },
    merged_at: null,
    user: { login: "tracefix[bot]", id: 1, type: "Bot" },
  };
}

function json(status: number, body: unknown): FakeReply {
  return { status, body };
}

function findCommit(repo: FakeRepo, ref: string): FakeCommit | undefined {
  return repo.commits.get(ref) ?? [...repo.commits.values()].find((c) => c.data.sha.startsWith(ref));
}

/** Loads every commit of a real local git repository, as GitHub would serve it. */
/** Compare, the commit list and recursive trees: the history reads of the deploy-range step. */
function historyApi(
  repo: FakeRepo,
  resource: string | undefined,
  ref: string | undefined,
  url: URL,
): FakeReply | null {
  const git = repo.git;
  if (!git) return null;
  const resolve = (r: string) =>
    git.commits.has(r) ? r : [...git.commits.keys()].find((sha) => sha.startsWith(r));
  if (resource === "compare" && ref) {
    const [base = "", head = ""] = ref.split("...");
    const from = resolve(base);
    const to = resolve(head);
    if (!from || !to) return json(404, { message: "Not Found" });
    return json(200, compare(git, from, to));
  }
  if (resource === "commits" && ref === undefined) {
    const head = resolve(url.searchParams.get("sha") ?? git.branches.get(git.defaultBranch) ?? "");
    if (!head) return json(404, { message: "Not Found" });
    const since = url.searchParams.get("since");
    const perPage = Math.min(100, Number(url.searchParams.get("per_page") ?? 30));
    const commits = firstParentOrder(git, head)
      .filter(
        (sha) =>
          !since || Date.parse(repo.commits.get(sha)?.data.commit.author?.date ?? "") >= Date.parse(since),
      )
      .slice(0, perPage);
    return json(
      200,
      commits.map((sha) => ({
        sha,
        commit: { message: git.commits.get(sha)?.message ?? "" },
        parents: (git.commits.get(sha)?.parents ?? []).map((p) => ({ sha: p })),
      })),
    );
  }
  if (resource === "git" && ref === "trees" && url.searchParams.get("recursive")) {
    const sha = resolve(url.pathname.split("/").pop() ?? "");
    const tree = sha ? git.trees.get(git.commits.get(sha)?.tree ?? "") : undefined;
    if (!tree) return json(404, { message: "Not Found" });
    const limit = repo.treeEntryLimit ?? 100_000;
    const paths = [...tree.keys()];
    return json(200, {
      sha,
      truncated: paths.length > limit,
      tree: paths.slice(0, limit).map((path) => ({ path, type: "blob", mode: "100644" })),
    });
  }
  return null;
}

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
  return { commits, pullsByCommit: new Map(), tooLarge: new Set(), git: loadGitStore(dir), pulls: [] };
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
