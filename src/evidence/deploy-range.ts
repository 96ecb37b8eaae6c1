import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { SpanSample } from "../grouping/collector.ts";
import { parseStackTrace } from "../grouping/stack-frames.ts";
import { CAUSE_DECAY, DEPTH_DECAY, pathsMatch } from "./suspects.ts";

const run = promisify(execFile);

/** A commit of the deploy that the failing stack runs through, with why. */
export interface SuspectCommit {
  sha: string;
  score: number;
  reason: string;
  subject: string;
  issueKey: string | null;
}

export interface RangeOutcome {
  commits: SuspectCommit[];
  /** previous..running, or the bounded walk used when the previous commit is unknown. */
  range: string;
  /** The range is a real deploy (the service's previous commit is known), not a walk back. */
  deploy: boolean;
  notes: string[];
}

// Bounds: a deploy range of thousands of commits or a stack of thousands of frames stays cheap.
const MAX_RANGE = 200;
const WALK_COMMITS = 20;
const WALK_DAYS = 14;
const MAX_FRAMES = 8;
const MAX_TREE_BYTES = 64 * 1024 * 1024;

/**
 * The commits of the deploy that last changed the lines the failing stack runs through. The
 * range is previous..running when the service's previous commit is known and an ancestor, else
 * the running commit's last 20 ancestors within 14 days. Each top in-app frame's line is blamed
 * at the running commit; a line last changed inside the range names that commit. Local checkout
 * only: `git` runs without a shell, on SHAs that were checked to be hex.
 */
export async function suspectCommitsInRange(
  repoDir: string,
  running: string,
  previous: string | null,
  samples: readonly SpanSample[],
): Promise<RangeOutcome> {
  const notes: string[] = [];
  const git = async (...args: string[]) =>
    (
      await run("git", ["-C", repoDir, "-c", "core.quotePath=false", ...args], {
        maxBuffer: MAX_TREE_BYTES,
        encoding: "utf8",
      })
    ).stdout;
  const hex = (sha: string | null) => (sha && /^[0-9a-f]{7,64}$/i.test(sha) ? sha : null);
  if (!hex(running))
    return { commits: [], range: "", deploy: false, notes: [`not a commit SHA: ${running}`] };
  let shas: string[];
  let range: string;
  const from = hex(previous);
  const isAncestor = from
    ? await git("merge-base", "--is-ancestor", from, running).then(
        () => true,
        () => false,
      )
    : false;
  if (from && isAncestor) {
    range = `${from.slice(0, 7)}..${running.slice(0, 7)}`;
    shas = (await git("rev-list", `--max-count=${MAX_RANGE + 1}`, `${from}..${running}`))
      .split("\n")
      .filter(Boolean);
    if (shas.length > MAX_RANGE) {
      notes.push(
        `the deploy range ${range} holds more than ${MAX_RANGE} commits; only the newest ${MAX_RANGE} were considered`,
      );
      shas = shas.slice(0, MAX_RANGE);
    }
  } else {
    if (from)
      notes.push(
        `the previous commit ${from.slice(0, 7)} is not an ancestor of ${running.slice(0, 7)} (force-push or another branch); walked back instead`,
      );
    const authored = (await git("show", "-s", "--format=%at", running)).trim();
    const since = Number(authored) - WALK_DAYS * 86_400;
    range = `${running.slice(0, 7)} and up to ${WALK_COMMITS - 1} ancestors within ${WALK_DAYS} days`;
    shas = (await git("rev-list", `--max-count=${WALK_COMMITS}`, `--since=${since}`, running))
      .split("\n")
      .filter(Boolean);
  }
  // A root commit "changed" every line it holds: blaming it says nothing about a regression.
  const roots = new Set((await git("rev-list", "--max-parents=0", running)).split("\n").filter(Boolean));
  const inRange = new Set(shas.filter((sha) => !roots.has(sha)));
  const tree = (await git("ls-tree", "-r", "--name-only", running)).split("\n").filter(Boolean);

  const frames = samples
    .slice(0, 3)
    .flatMap((s) =>
      parseStackTrace(s.stacktrace, { allFormats: true }).filter((f) => f.inApp && f.line !== null),
    )
    .sort((a, b) => a.causeDepth - b.causeDepth);
  const seen = new Set<string>();
  const scores = new Map<string, { score: number; reasons: string[] }>();
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
    let blamed: string;
    try {
      blamed =
        (await git("blame", "--porcelain", "-L", `${frame.line},${frame.line}`, running, "--", path)).split(
          " ",
        )[0] ?? "";
    } catch (error) {
      notes.push(
        `could not blame ${key} (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`,
      );
      continue;
    }
    if (!inRange.has(blamed)) continue;
    const score = DEPTH_DECAY ** k * CAUSE_DECAY ** frame.causeDepth;
    const entry = scores.get(blamed) ?? { score: 0, reasons: [] };
    entry.score = Math.max(entry.score, score);
    entry.reasons.push(`${key} (frame #${k + 1}, ${frame.function || "<anonymous>"}) was last changed by it`);
    scores.set(blamed, entry);
  }
  const commits: SuspectCommit[] = [];
  for (const [sha, { score, reasons }] of scores) {
    const subject = (await git("show", "-s", "--format=%s", sha)).trim();
    commits.push({
      sha,
      score: Math.round(score * 100) / 100,
      reason: reasons.join("; "),
      subject,
      issueKey: /\b[A-Z][A-Z0-9_]+-\d+\b/.exec(subject)?.[0] ?? null,
    });
  }
  commits.sort((a, b) => b.score - a.score || a.sha.localeCompare(b.sha));
  return { commits, range, deploy: Boolean(from && isAncestor), notes };
}
