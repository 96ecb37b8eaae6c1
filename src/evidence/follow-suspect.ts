import type { RankedGroup } from "../grouping/rank.ts";
import { type HistoryReader, suspectCommitsInRange } from "./deploy-range.ts";
import type { Evidence } from "./gather.ts";
import type { GitHubClient } from "./github.ts";
import { githubHistory, localHistory } from "./history.ts";
import { STRONG_SUSPECT } from "./suspects.ts";

// A blamed line this close to the top of the root cause's stack moves the evidence to its commit.
const FOLLOW_SCORE = 0.5;

/**
 * A deploy often carries several commits, and the one that broke things is often not the newest.
 * When the running commit's diff does not explain the stack (and the error does not predate the
 * deploy), the deploy range is blamed; if an earlier commit of the range last changed a top frame's
 * line, the evidence (diff, suspects, PR, work item) becomes that commit's, and says so.
 */
export async function followSuspectCommit(
  group: RankedGroup,
  evidence: Evidence,
  predates: { commitSha: string; count: number } | null,
  options: {
    repoDir: string | null;
    github: GitHubClient | null;
    previous: string | null;
    gather: (group: RankedGroup) => Promise<Evidence>;
  },
): Promise<Evidence> {
  const running = evidence.commit?.sha;
  // The running commit's own diff explains the stack: no need to look earlier.
  const explained = (evidence.suspects[0]?.score ?? 0) >= STRONG_SUSPECT;
  const hasStack = group.samples.some((s) => s.stacktrace.trim() !== "");
  if (!running || explained || predates || !hasStack) return evidence;
  const [owner, repo] = (evidence.repository ?? "").split("/");
  const reader: HistoryReader | null = options.repoDir
    ? localHistory(options.repoDir)
    : options.github && owner && repo
      ? githubHistory(options.github, { owner, repo })
      : null;
  if (!reader) {
    evidence.problems.push(
      "earlier commits of the deploy were not examined: that needs a local checkout (--repo-dir) or GitHub access to the repository",
    );
    return evidence;
  }
  let outcome: Awaited<ReturnType<typeof suspectCommitsInRange>>;
  try {
    outcome = await suspectCommitsInRange(reader, running, options.previous, group.samples);
  } catch (error) {
    evidence.problems.push(
      `the deploy range could not be read: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
    );
    return evidence;
  }
  evidence.suspectCommits = outcome.commits;
  evidence.problems.push(...outcome.notes);
  const top = outcome.commits[0];
  // Only a known deploy range is evidence enough to move; a walk back lists candidates.
  if (!top || top.sha === running || top.score < FOLLOW_SCORE) return evidence;
  if (!outcome.deploy) {
    evidence.problems.push(
      `the service's previous commit is unknown, so ${outcome.range} were walked: ${top.sha.slice(0, 7)} ("${top.subject}") last changed a line on the stack, a candidate only`,
    );
    return evidence;
  }
  const moved = await options.gather({
    ...group,
    commitSha: top.sha,
    issueKey: top.issueKey ?? group.issueKey,
  });
  const pr = moved.pullRequest ? { number: moved.pullRequest.number, url: moved.pullRequest.url } : null;
  return {
    ...moved,
    suspectCommits: outcome.commits.map((c) => (c.sha === top.sha ? { ...c, pr } : c)),
    introducedBy: { runningSha: running, sha: top.sha, range: outcome.range },
    problems: [...evidence.problems, ...moved.problems],
  };
}
