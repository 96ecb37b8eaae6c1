import type { SpanSample } from "../grouping/collector.ts";
import { repoTree } from "./repo-tree.ts";
import { appFrames, CAUSE_DECAY, DEPTH_DECAY, identifiersIn } from "./suspects.ts";

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

/**
 * How a history is read: a local checkout (git) or GitHub (compare, commits, trees, GraphQL
 * blame); both are in history.ts.
 */
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
  /** The commit that last changed each line from..to of `path` at `running` (to is clamped to the file). */
  blame(running: string, path: string, from: number, to: number): Promise<BlamedLine[]>;
  /**
   * Of `shas`, the commits whose diff adds or removes a line naming `word`; undefined when the
   * reader cannot tell without a request per commit (GitHub).
   */
  naming?(shas: readonly string[], word: string): Promise<string[]>;
}

export interface BlamedLine {
  line: number;
  sha: string;
  subject: string;
}

// Bounds: a deploy range of thousands of commits or a stack of thousands of frames stays cheap.
export const MAX_RANGE = 200;
const WALK_COMMITS = 20;
const WALK_DAYS = 14;
const MAX_FRAMES = 8;
const MAX_IDENTIFIERS = 4;
// A line this close to a frame's line, changed by a commit of the range, counts as nearby.
const NEAR_LINES = 10;
const NEAR_SCORE = 0.7;
// A commit that only changed lines naming what the error names is a candidate, never followed.
const NAMING_SCORE = 0.4;

/**
 * The commits of the deploy that changed what the failing stack runs through. The range is
 * previous..running when the service's previous commit is known and an ancestor, else the running
 * commit's last 20 ancestors within 14 days. Each top application frame's line, and the lines
 * around it, are blamed at the running commit: a frame's own line last changed inside the range
 * names that commit (1), a line up to 10 away counts less (0.7), both decayed by the frame's depth
 * and cause. Frames a commit touches add up; identifiers the error names on a commit's changed
 * lines make a weak candidate. Ties go to the newer commit.
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
  const newest = new Map(candidates.shas.map((sha, i) => [sha, i]));
  const tree = repoTree(await reader.paths(running));

  const frames = samples
    .slice(0, 3)
    .flatMap((s) => appFrames(s.stacktrace, tree).filter((f) => f.line !== null))
    .sort((a, b) => a.causeDepth - b.causeDepth);
  const seen = new Set<string>();
  // Per commit, the best signal of each frame (frames add up; one frame counts once).
  type Found = { perFrame: Map<number, number>; reasons: string[]; subject: string };
  const found = new Map<string, Found>();
  const credit = (blamed: BlamedLine, frameIndex: number, score: number, reason: string) => {
    const entry: Found = found.get(blamed.sha) ?? {
      perFrame: new Map(),
      reasons: [],
      subject: blamed.subject,
    };
    if ((entry.perFrame.get(frameIndex) ?? 0) >= score) return;
    entry.perFrame.set(frameIndex, score);
    entry.reasons.push(reason);
    found.set(blamed.sha, entry);
  };
  let depth = 0;
  for (const frame of frames) {
    if (seen.size >= MAX_FRAMES) break;
    const matches = tree.matches(frame.file);
    if (matches.length !== 1 || frame.line === null) continue;
    const path = matches[0] as string;
    const line = frame.line;
    const key = `${path}:${line}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const k = depth++;
    let lines: BlamedLine[];
    try {
      lines = await reader.blame(running, path, Math.max(1, line - NEAR_LINES), line + NEAR_LINES);
    } catch (error) {
      notes.push(
        `could not blame ${key} (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`,
      );
      continue;
    }
    const decay = DEPTH_DECAY ** k * CAUSE_DECAY ** frame.causeDepth;
    const where = `${key} (frame #${k + 1}, ${frame.function || "<anonymous>"})`;
    // Nearest first, so a commit's reason names its closest line to the frame.
    const byDistance = lines
      .filter((b) => newest.has(b.sha))
      .sort((a, b) => Math.abs(a.line - line) - Math.abs(b.line - line));
    for (const blamed of byDistance) {
      const distance = Math.abs(blamed.line - line);
      if (distance === 0) credit(blamed, k, decay, `${where} was last changed by it`);
      else credit(blamed, k, NEAR_SCORE * decay, `it changed line ${blamed.line}, ${distance} from ${where}`);
    }
  }

  if (reader.naming) {
    const words = identifiersIn(samples[0]?.message ?? "").slice(0, MAX_IDENTIFIERS);
    for (const word of words) {
      for (const sha of await reader.naming(candidates.shas, word)) {
        if (found.has(sha)) continue;
        found.set(sha, {
          perFrame: new Map([[-1, NAMING_SCORE]]),
          reasons: [`it changed a line naming "${word}", which the error message names`],
          subject: "",
        });
      }
    }
  }

  const commits = [...found].map(([sha, { perFrame, reasons, subject }]) => {
    const headline = candidates.subjects.get(sha) || subject;
    // Independent frames add up (noisy-OR): a commit that wrote three lines of the stack beats one.
    const score = 1 - [...perFrame.values()].reduce((p, s) => p * (1 - s), 1);
    return {
      sha,
      score: Math.round(score * 100) / 100,
      reason: reasons.join("; "),
      subject: headline,
      issueKey: /\b[A-Z][A-Z0-9_]+-\d+\b/.exec(headline)?.[0] ?? null,
      pr: null,
    };
  });
  commits.sort(
    (a, b) =>
      b.score - a.score || (newest.get(a.sha) ?? 0) - (newest.get(b.sha) ?? 0) || a.sha.localeCompare(b.sha),
  );
  return { commits, range, deploy: Boolean(from && inDeploy), notes };
}
