import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { billingRegressionSha, buildDemoRepo, readDemoManifest } from "../../scripts/demo-repo.ts";
import { parseUnifiedDiff } from "../../src/evidence/diff.ts";
import {
  createGitHubClient,
  findIntroducingPullRequest,
  readCommitFromGitHub,
} from "../../src/evidence/github.ts";
import { type FakeGitHub, fakePull, filesOf, loadRepository, startFakeGitHub } from "../fakes/github.ts";
import { useTempDirs } from "../helpers/tmp.ts";

const TOKEN = "gh-test-token";
const REF = { owner: "acme", repo: "billing-service" };
const regression = billingRegressionSha();

describe("GitHub evidence through Octokit", () => {
  const tempDir = useTempDirs();
  let fake: FakeGitHub | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });
  const start = async (prefix = "") => {
    fake = await startFakeGitHub({ token: TOKEN, prefix });
    const dir = tempDir();
    buildDemoRepo(dir);
    fake.repos.set("acme/billing-service", loadRepository(dir, "acme", "billing-service"));
    return { server: fake, dir };
  };
  const client = (server: FakeGitHub, token = TOKEN, apiUrl = server.url) =>
    createGitHubClient({ token, apiUrl, timeoutMs: 5_000, retries: 2, retryAfterBaseMs: 10 });

  it("reads the commit and its per-file patches in one request, with the API version pinned", async () => {
    const { server } = await start();
    const { commit, diffText, notes } = await readCommitFromGitHub(
      client(server),
      REF,
      regression.slice(0, 12),
    );
    expect(commit).toMatchObject({
      sha: regression,
      subject: "Support discount codes (BILL-142)",
      author: "Dana Developer",
    });
    expect(
      parseUnifiedDiff(diffText)
        .map((f) => f.path)
        .sort(),
    ).toEqual(["CHANGELOG.md", "package.json", "src/pricing.js"]);
    expect(parseUnifiedDiff(diffText).find((f) => f.path === "src/pricing.js")?.hunks[0]?.addedLines).toEqual(
      [5, 7],
    );
    expect(notes).toEqual([]);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.headers["x-github-api-version"]).toBe("2022-11-28");
  });

  it("fetches the diff media type when a file has no patch, and falls back on 406 too_large", async () => {
    const { server, dir } = await start();
    const git = (...args: string[]) =>
      execFileSync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@e", ...args]);
    writeFileSync(join(dir, "logo.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]));
    git("mv", "README.md", "docs.md");
    git("add", "-A");
    git("commit", "-qm", "Add logo, move readme");
    const sha = execFileSync("git", ["-C", dir, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    const repo = loadRepository(dir, "acme", "billing-service");
    server.repos.set("acme/billing-service", repo);

    const full = await readCommitFromGitHub(client(server), REF, sha);
    expect(server.requests.map((r) => r.headers.accept)).toEqual([
      "application/vnd.github.v3+json",
      "application/vnd.github.v3.diff",
    ]);
    const files = parseUnifiedDiff(full.diffText);
    expect(files.find((f) => f.path === "docs.md")).toMatchObject({
      status: "renamed",
      oldPath: "README.md",
    });
    expect(files.find((f) => f.path === "logo.png")?.binary).toBe(true);

    repo.tooLarge.add(sha);
    const partial = await readCommitFromGitHub(client(server), REF, sha);
    expect(partial.notes[0]).toMatch(/too large \(406\); using the per-file patches/);
    expect(partial.notes[1]).toMatch(/1 file\(s\) without a patch \(binary or too large\): logo\.png/);
    expect(parseUnifiedDiff(partial.diffText).find((f) => f.path === "docs.md")?.status).toBe("renamed");
  });

  it("says when GitHub listed only the first 300 files", async () => {
    const { server } = await start();
    const big = Array.from(
      { length: 300 },
      (_, i) => `diff --git a/f${i}.txt b/f${i}.txt\n--- a/f${i}.txt\n+++ b/f${i}.txt\n@@ -1 +1 @@\n-a\n+b\n`,
    ).join("");
    const repo = server.repos.get("acme/billing-service");
    const existing = repo?.commits.get(regression);
    if (!repo || !existing) throw new Error("fixture");
    repo.commits.set("f".repeat(40), {
      data: { ...existing.data, sha: "f".repeat(40), files: filesOf(big) },
      diff: big,
    });
    repo.tooLarge.add("f".repeat(40));
    const { notes } = await readCommitFromGitHub(client(server), REF, "f".repeat(40));
    expect(notes).toContain("GitHub listed only the first 300 changed files");
  });

  it("finds the PR that introduced the commit, preferring the merged one", async () => {
    const { server } = await start();
    server.repos.get("acme/billing-service")?.pullsByCommit.set(regression, [
      fakePull({ number: 41, title: "WIP discount codes", merged_at: null, state: "closed" }),
      fakePull({
        number: 42,
        title: "Support discount codes",
        body: "Implements BILL-142",
        head: {
          ref: "feature/BILL-142-discount-codes",
          sha: regression,
          label: "acme:feature/BILL-142-discount-codes",
        },
      }),
    ]);
    expect(await findIntroducingPullRequest(client(server), REF, regression)).toEqual({
      number: 42,
      title: "Support discount codes",
      body: "Implements BILL-142",
      branch: "feature/BILL-142-discount-codes",
      author: "dana",
      mergedAt: "2026-11-20T05:45:00Z",
      url: "https://github.com/acme/billing-service/pull/42",
    });
    expect(
      await findIntroducingPullRequest(client(server), REF, readDemoManifest().commits[0]?.sha ?? ""),
    ).toBeNull();
  });

  it("waits out a primary rate limit, a secondary 429 and a 502", async () => {
    const { server } = await start();
    server.exhaustRateLimit(1);
    server.inject({
      kind: "status",
      status: 429,
      retryAfterSeconds: 0,
      body: { message: "You have exceeded a secondary rate limit." },
    });
    server.inject({ kind: "status", status: 502, body: { message: "Server Error" } });
    const { commit } = await readCommitFromGitHub(client(server), REF, regression);
    expect(commit.sha).toBe(regression);
    expect(server.requests.length).toBe(4);
  });

  it("gives every retry its own time bound, so one slow reply does not doom the retries", async () => {
    const { server } = await start();
    server.inject({ kind: "delay", ms: 800 }, { times: 1 });
    const fast = createGitHubClient({
      token: TOKEN,
      apiUrl: server.url,
      timeoutMs: 300,
      retries: 2,
      retryAfterBaseMs: 10,
    });
    const { commit } = await readCommitFromGitHub(fast, REF, regression);
    expect(commit.sha).toBe(regression);
    expect(server.requests.length).toBe(2);
  });

  it("fails with the status on a missing commit and on a bad token", async () => {
    const { server } = await start();
    await expect(readCommitFromGitHub(client(server), REF, "0".repeat(40))).rejects.toMatchObject({
      status: 404,
    });
    await expect(readCommitFromGitHub(client(server, "wrong"), REF, regression)).rejects.toMatchObject({
      status: 401,
    });
  });

  it("works against a GitHub Enterprise base URL", async () => {
    const { server } = await start("/api/v3");
    const { commit } = await readCommitFromGitHub(
      client(server, TOKEN, `${server.url}/api/v3`),
      REF,
      regression,
    );
    expect(commit.sha).toBe(regression);
    expect(server.requests[0]?.path).toBe(`/api/v3/repos/acme/billing-service/commits/${regression}`);
  });
});
