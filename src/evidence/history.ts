import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { type BlamedLine, type HistoryReader, MAX_RANGE } from "./deploy-range.ts";
import type { GitHubClient } from "./github.ts";

const run = promisify(execFile);

/** A local checkout: `git` runs without a shell, on SHAs that were checked to be hex. */
export function localHistory(repoDir: string): HistoryReader {
  const git = async (...args: string[]) =>
    (
      await run("git", ["-C", repoDir, "-c", "core.quotePath=false", ...args], {
        maxBuffer: 64 * 1024 * 1024,
        encoding: "utf8",
      })
    ).stdout;
  const list = async (...args: string[]) => {
    const subjects = new Map<string, string>();
    for (const line of (await git("log", "--format=%H%x00%s", ...args)).split("\n").filter(Boolean)) {
      const [sha = "", subject = ""] = line.split("\0");
      subjects.set(sha, subject);
    }
    return { shas: [...subjects.keys()], subjects };
  };
  return {
    between: async (previous, running) => {
      const ancestor = await git("merge-base", "--is-ancestor", previous, running).then(
        () => true,
        () => false,
      );
      return ancestor ? list(`--max-count=${MAX_RANGE + 1}`, `${previous}..${running}`) : null;
    },
    walk: async (running, max, sinceSec) => {
      const walked = await list(`--max-count=${max}`, `--since=${sinceSec}`, "--min-parents=1", running);
      return walked;
    },
    authoredSec: async (sha) => Number((await git("show", "-s", "--format=%at", sha)).trim()),
    paths: async (running) =>
      (await git("ls-tree", "-r", "--name-only", running)).split("\n").filter(Boolean),
    blame: async (running, path, from, to) => {
      const out = await git("blame", "--line-porcelain", "-L", `${from},${to}`, running, "--", path);
      const lines: BlamedLine[] = [];
      let current: BlamedLine | null = null;
      for (const row of out.split("\n")) {
        const header = /^([0-9a-f]{40,64}) \d+ (\d+)/.exec(row);
        if (header) current = { sha: header[1] ?? "", line: Number(header[2]), subject: "" };
        else if (current && row.startsWith("summary ")) current.subject = row.slice(8);
        else if (current && row.startsWith("\t")) {
          lines.push(current);
          current = null;
        }
      }
      return lines;
    },
    naming: async (shas, word) => {
      // Identifiers are [\w$] only (see identifiersIn), so the pattern needs no quoting but `$`.
      // --no-walk diffs only the commits given, however long the history behind them.
      if (shas.length === 0) return [];
      const pattern = word.replace(/\$/g, "\\$");
      return (await list("--no-walk=unsorted", `-G${pattern}`, ...shas.slice(0, MAX_RANGE))).shas;
    },
  };
}

const BLAME_QUERY = `query($owner: String!, $name: String!, $expression: String!, $path: String!) {
  repository(owner: $owner, name: $name) {
    object(expression: $expression) {
      ... on Commit { blame(path: $path) { ranges { startingLine endingLine commit { oid messageHeadline } } } }
    }
  }
}`;

interface BlameAnswer {
  repository: {
    object: {
      blame?: {
        ranges: Array<{
          startingLine: number;
          endingLine: number;
          commit: { oid: string; messageHeadline: string };
        }>;
      };
    } | null;
  } | null;
}

/** GitHub: compare and the commit list for the range, a recursive tree, GraphQL blame once per file. */
export function githubHistory(
  github: GitHubClient,
  repository: { owner: string; repo: string },
): HistoryReader {
  const blames = new Map<string, Promise<BlameAnswer>>();
  const subjects = (items: Array<{ sha: string; commit: { message: string } }>) =>
    new Map(items.map((c) => [c.sha, c.commit.message.split("\n")[0] ?? ""]));
  return {
    between: async (previous, running) => {
      // A previous commit GitHub does not know (force-pushed away) is no deploy range: walk instead.
      const answer = await github.rest.repos
        .compareCommits({ ...repository, base: previous, head: running, per_page: 100 })
        .catch((error: unknown) => {
          const status = (error as { status?: number }).status;
          if (status === 404 || status === 422) return null;
          throw error;
        });
      if (!answer) return null;
      const { data } = answer;
      if (data.status !== "ahead") return null;
      const commits = [...data.commits].reverse();
      return { shas: commits.map((c) => c.sha), subjects: subjects(commits) };
    },
    walk: async (running, max, sinceSec) => {
      const { data } = await github.rest.repos.listCommits({
        ...repository,
        sha: running,
        per_page: max,
        since: new Date(sinceSec * 1000).toISOString(),
      });
      const kept = data.filter((c) => c.parents.length > 0);
      return { shas: kept.map((c) => c.sha), subjects: subjects(kept) };
    },
    authoredSec: async (sha) => {
      const { data } = await github.rest.repos.getCommit({ ...repository, ref: sha });
      return Date.parse(data.commit.author?.date ?? "") / 1000;
    },
    paths: async (running) => {
      const { data } = await github.rest.git.getTree({ ...repository, tree_sha: running, recursive: "true" });
      // A truncated listing would call application files library code; better none at all.
      if (data.truncated) throw new Error(`the tree of ${running.slice(0, 7)} is too large for one listing`);
      return data.tree.filter((t) => t.type === "blob" && t.path).map((t) => t.path as string);
    },
    blame: async (running, path, from, to) => {
      let pending = blames.get(path);
      if (!pending) {
        pending = github.graphql<BlameAnswer>(BLAME_QUERY, {
          owner: repository.owner,
          name: repository.repo,
          expression: running,
          path,
        });
        blames.set(path, pending);
      }
      const lines: BlamedLine[] = [];
      for (const r of (await pending).repository?.object?.blame?.ranges ?? []) {
        for (let line = Math.max(from, r.startingLine); line <= Math.min(to, r.endingLine); line++)
          lines.push({ line, sha: r.commit.oid, subject: r.commit.messageHeadline });
      }
      return lines;
    },
  };
}
