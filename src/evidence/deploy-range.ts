import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { SpanSample } from "../grouping/collector.ts";
import { parseStackTrace } from "../grouping/stack-frames.ts";
import type { GitHubClient } from "./github.ts";
import { CAUSE_DECAY, DEPTH_DECAY, pathsMatch } from "./suspects.ts";

const run = promisify(execFile);

/** A commit of the deploy that the failing stack runs through, with why. */
export interface SuspectCommit {
  sha: string;
  score: number;
  reason: string;
  subject: string;
  issueKey: string | null;
  /** The pull request that introduced it, when the evidence followed it and GitHub knows one. */
  pr: { number: number; url: string } | null;
}

export interface RangeOutcome {
  commits: SuspectCommit[];
  /** previous..running, or the bounded walk used when the previous commit is unknown. */
  range: string;
  /** The range is a real deploy (the service's previous commit is known), not a walk back. */
  deploy: boolean;
  notes: string[];
}

/** How a history is read: a local checkout (git) or GitHub (compare, commits, trees, GraphQL blame). */
export interface HistoryReader {
  /** Commits in previous..running, or null when previous is not an ancestor (force-push). */
  between(
    previous: string,
    running: string,
  ): Promise<{ shas: string[]; subjects: Map<string, string> } | null>;
  /** The running commit and its ancestors back to `sinceSec`, without root commits. */
  walk(
    running: string,
    max: number,
    sinceSec: number,
  ): Promise<{ shas: string[]; subjects: Map<string, string> }>;
  authoredSec(sha: string): Promise<number>;
  paths(running: string): Promise<string[]>;
  /** The commit that last changed the line at `running`, and its subject. */
  blame(running: string, path: string, line: number): Promise<{ sha: string; subject: string } | null>;
}

// Bounds: a deploy range of thousands of commits or a stack of thousands of frames stays cheap.
const MAX_RANGE = 200;
const WALK_COMMITS = 20;
const WALK_DAYS = 14;
const MAX_FRAMES = 8;

/**
 * The commits of the deploy that last changed the lines the failing stack runs through. The
 * range is previous..running when the service's previous commit is known and an ancestor, else
 * the running commit's last 20 ancestors within 14 days. Each top in-app frame's line is blamed
 * at the running commit; a line last changed inside the range names that commit.
 */
export async function suspectCommitsInRange(
  reader: HistoryReader,
  running: string,
  previous: string | null,
  samples: readonly SpanSample[],
): Promise<RangeOutcome> {
  const notes: string[] = [];
  const hex = (sha: string | null) => (sha && /^[0-9a-f]{7,64}$/i.test(sha) ? sha : null);
  if (!hex(running))
    return { commits: [], range: "", deploy: false, notes: [`not a commit SHA: ${running}`] };
  const from = hex(previous);
  const inDeploy = from ? await reader.between(from, running) : null;
  let range: string;
  let candidates: { shas: string[]; subjects: Map<string, string> };
  if (from && inDeploy) {
    range = `${from.slice(0, 7)}..${running.slice(0, 7)}`;
    candidates = inDeploy;
    if (inDeploy.shas.length > MAX_RANGE) {
      notes.push(
        `the deploy range ${range} holds more than ${MAX_RANGE} commits; only the newest ${MAX_RANGE} were considered`,
      );
      candidates = { ...inDeploy, shas: inDeploy.shas.slice(0, MAX_RANGE) };
    }
  } else {
    if (from)
      notes.push(
        `the previous commit ${from.slice(0, 7)} is not an ancestor of ${running.slice(0, 7)} (force-push or another branch); walked back instead`,
      );
    range = `${running.slice(0, 7)} and up to ${WALK_COMMITS - 1} ancestors within ${WALK_DAYS} days`;
    candidates = await reader.walk(
      running,
      WALK_COMMITS,
      (await reader.authoredSec(running)) - WALK_DAYS * 86_400,
    );
  }
  const inRange = new Set(candidates.shas);
  const tree = await reader.paths(running);

  const frames = samples
    .slice(0, 3)
    .flatMap((s) =>
      parseStackTrace(s.stacktrace, { allFormats: true }).filter((f) => f.inApp && f.line !== null),
    )
    .sort((a, b) => a.causeDepth - b.causeDepth);
  const seen = new Set<string>();
  const scores = new Map<string, { score: number; reasons: string[]; subject: string }>();
  let depth = 0;
  for (const frame of frames) {
    if (seen.size >= MAX_FRAMES) break;
    const matches = tree.filter((path) => pathsMatch(frame.file, path));
    if (matches.length !== 1 || frame.line === null) continue;
    const path = matches[0] as string;
    const key = `${path}:${frame.line}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const k = depth++;
    let blamed: { sha: string; subject: string } | null;
    try {
      blamed = await reader.blame(running, path, frame.line);
    } catch (error) {
      notes.push(
        `could not blame ${key} (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`,
      );
      continue;
    }
    if (!blamed || !inRange.has(blamed.sha)) continue;
    const score = DEPTH_DECAY ** k * CAUSE_DECAY ** frame.causeDepth;
    const entry = scores.get(blamed.sha) ?? { score: 0, reasons: [], subject: blamed.subject };
    entry.score = Math.max(entry.score, score);
    entry.reasons.push(`${key} (frame #${k + 1}, ${frame.function || "<anonymous>"}) was last changed by it`);
    scores.set(blamed.sha, entry);
  }
  const commits = [...scores].map(([sha, { score, reasons, subject }]) => {
    const headline = candidates.subjects.get(sha) || subject;
    return {
      sha,
      score: Math.round(score * 100) / 100,
      reason: reasons.join("; "),
      subject: headline,
      issueKey: /\b[A-Z][A-Z0-9_]+-\d+\b/.exec(headline)?.[0] ?? null,
      pr: null,
    };
  });
  commits.sort((a, b) => b.score - a.score || a.sha.localeCompare(b.sha));
  return { commits, range, deploy: Boolean(from && inDeploy), notes };
}

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
    blame: async (running, path, line) => {
      const out = await git("blame", "--porcelain", "-L", `${line},${line}`, running, "--", path);
      const sha = out.split(" ")[0] ?? "";
      const subject = /^summary (.*)$/m.exec(out)?.[1] ?? "";
      return sha ? { sha, subject } : null;
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
      return data.tree.filter((t) => t.type === "blob" && t.path).map((t) => t.path as string);
    },
    blame: async (running, path, line) => {
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
      const range = (await pending).repository?.object?.blame?.ranges.find(
        (r) => r.startingLine <= line && line <= r.endingLine,
      );
      return range ? { sha: range.commit.oid, subject: range.commit.messageHeadline } : null;
    },
  };
}
