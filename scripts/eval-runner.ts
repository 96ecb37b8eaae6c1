import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Analyst } from "../src/analysis/analysis.ts";
import { type DiffFile, parseUnifiedDiff } from "../src/evidence/diff.ts";
import { followSuspectCommit } from "../src/evidence/follow-suspect.ts";
import { createEvidenceGatherer, type Evidence } from "../src/evidence/gather.ts";
import { Redactor } from "../src/evidence/redact.ts";
import { appFrames, pathsMatch, scoreSuspects } from "../src/evidence/suspects.ts";
import { trimDiffForAnalysis } from "../src/evidence/trim-diff.ts";
import { GroupCollector, type SpanSample } from "../src/grouping/collector.ts";
import { type RankedGroup, rankGroups } from "../src/grouping/rank.ts";
import { StatusCode, type TelemetrySpan } from "../src/telemetry/span.ts";

export const EVAL_DIR = new URL("../fixtures/eval/", import.meta.url).pathname;
const COMMIT = "e".repeat(40);
const T0 = Date.parse("2026-11-20T06:00:00Z");

interface ScenarioSpan {
  type?: string;
  message?: string;
  stacktrace?: string;
  attributes?: Record<string, string | number | boolean>;
  agentFailure?: string;
  repo?: string;
  count: number;
}

/** One commit of a history scenario: its subject and the files it writes (null deletes). */
interface ScenarioCommit {
  subject: string;
  files: Record<string, string | null>;
}

/**
 * A scenario is either one commit's diff, or a history: a real repository is built from its
 * commits (the first is what ran before the deploy, the last is what runs now) and the evidence
 * goes through the same gatherer and deploy-range step as a run with --repo-dir.
 */
export interface Scenario {
  name: string;
  description: string;
  service: string;
  spans: ScenarioSpan[];
  diff?: string;
  history?: ScenarioCommit[];
  /** History scenarios: whether the service's previous commit (the first) is known. */
  previousKnown?: boolean;
  acceptanceCriteria: string;
  /** The same error also fired this many times on the commit that ran before (it predates the deploy). */
  predates?: number;
  /** `commit` (history scenarios) is the subject of the commit that introduced the bug. */
  expected: { suspect: string | null; commit?: string };
}

export interface ScenarioResult {
  name: string;
  expected: string | null;
  predicted: string | null;
  correct: boolean;
  confidence: number | null;
  /** What the writeup claimed: a suspect, "no code cause", or "undetermined". */
  verdict: "suspect" | "no_code_cause" | "undetermined";
  /** The trivial baseline: the first in-app stack frame whose path ends a changed file's. */
  baseline: string | null;
  /** The expected file is among the first three suspects the analyst was shown (or named). */
  top3: boolean;
  /** The baseline's first three distinct frames on changed files hold the expected file. */
  baselineTop3: boolean;
  /** History scenarios: the commit named (the followed one, else the top candidate), and the truth. */
  commit?: { expected: string; predicted: string | null; baseline: string | null };
  /** The stack runs through the expected file (as opposed to a bug the stack never reaches). */
  onStack: boolean;
  error?: string;
}

export interface EvalSummary {
  analyst: string;
  scenarios: number;
  suspectAccuracy: { correct: number; total: number };
  noCodeCauseAccuracy: { correct: number; total: number };
  /** Of the "no code cause" verdicts, how many were right (no suspect expected). */
  noCodeCausePrecision: { correct: number; total: number };
  undetermined: number;
  top3: { correct: number; total: number };
  /** On-stack bugs only: the right file named. */
  onStackAccuracy: { correct: number; total: number };
  /** History scenarios with a culprit: the commit that introduced it named. */
  commitAccuracy: { correct: number; total: number };
  /** Right suspect, or "no code cause" where there is none, over every scenario. */
  correctVerdicts: { correct: number; total: number };
  baseline: {
    suspectAccuracy: { correct: number; total: number };
    noCodeCausePrecision: { correct: number; total: number };
    top3: { correct: number; total: number };
    onStackAccuracy: { correct: number; total: number };
    commitAccuracy: { correct: number; total: number };
    correctVerdicts: { correct: number; total: number };
  };
  results: ScenarioResult[];
}

export function loadScenarios(dir = EVAL_DIR): Scenario[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Scenario);
}

function toSpans(scenario: Scenario, commitSha = COMMIT): TelemetrySpan[] {
  return scenario.spans.flatMap((s, i) =>
    Array.from({ length: s.count }, (_, n): TelemetrySpan => {
      const agent = s.agentFailure !== undefined;
      return {
        traceId: `${i}${n}`.padStart(32, "0"),
        spanId: `${i}${n}`.padStart(16, "0"),
        parentSpanId: "",
        name: agent ? "claude_code.turn.stop_failure" : "request",
        kind: 2,
        startTimeMs: T0 + n * 60_000,
        endTimeMs: T0 + n * 60_000 + 5,
        status: { code: StatusCode.Error, message: agent ? (s.agentFailure ?? "") : (s.message ?? "") },
        attributes: agent
          ? { "error.type": s.agentFailure ?? "", "git.repo": s.repo ?? "" }
          : {
              ...s.attributes,
              "exception.type": s.type ?? "Error",
              "exception.message": s.message ?? "",
              "exception.stacktrace": s.stacktrace ?? "",
            },
        resource: agent
          ? { "service.name": scenario.service }
          : { "service.name": scenario.service, "build.commit_sha": commitSha },
        scope: "eval",
        events: [],
      };
    }),
  );
}

/** Runs the analyst over every scenario and scores its suspect against the expected answer. */
export async function runEval(analyst: Analyst, scenarios = loadScenarios()): Promise<EvalSummary> {
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    const built = scenario.history ? buildHistory(scenario.history) : null;
    try {
      results.push(await runScenario(analyst, scenario, built));
    } finally {
      if (built) rmSync(built.dir, { recursive: true, force: true });
    }
  }
  const withCause = results.filter((r) => r.expected !== null);
  const innocent = results.filter((r) => r.expected === null);
  const onStack = withCause.filter((r) => r.onStack);
  const withCommit = results.filter((r) => r.commit);
  const count = (rows: readonly ScenarioResult[], ok: (r: ScenarioResult) => boolean) => ({
    correct: rows.filter(ok).length,
    total: rows.length,
  });
  const commitRight = (r: ScenarioResult) => r.commit?.predicted === r.commit?.expected;
  const baselineCommitRight = (r: ScenarioResult) => r.commit?.baseline === r.commit?.expected;
  return {
    analyst: analyst.name,
    scenarios: results.length,
    suspectAccuracy: count(withCause, (r) => r.correct),
    noCodeCauseAccuracy: count(innocent, (r) => r.correct),
    noCodeCausePrecision: precision(results.filter((r) => r.verdict === "no_code_cause")),
    undetermined: results.filter((r) => r.verdict === "undetermined").length,
    top3: count(withCause, (r) => r.top3),
    onStackAccuracy: count(onStack, (r) => r.correct),
    commitAccuracy: count(withCommit, commitRight),
    correctVerdicts: count(results, (r) => r.correct),
    baseline: {
      suspectAccuracy: count(withCause, (r) => r.baseline === r.expected),
      noCodeCausePrecision: precision(results.filter((r) => r.baseline === null)),
      top3: count(withCause, (r) => r.baselineTop3),
      onStackAccuracy: count(onStack, (r) => r.baseline === r.expected),
      commitAccuracy: count(withCommit, baselineCommitRight),
      correctVerdicts: count(results, (r) => r.baseline === r.expected),
    },
    results,
  };
}

interface BuiltHistory {
  dir: string;
  /** SHA by commit subject, and the running (last) and previous (first) commits. */
  shaOf: Map<string, string>;
  running: string;
  previous: string;
}

/** A real repository with one commit per entry, at fixed dates so every run gets the same SHAs. */
function buildHistory(history: readonly ScenarioCommit[]): BuiltHistory {
  const dir = mkdtempSync(join(tmpdir(), "tracefix-eval-"));
  const git = (args: string[], env: Record<string, string> = {}) =>
    execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", env: { ...process.env, ...env } }).trim();
  git(["init", "-q", "-b", "main"]);
  const shaOf = new Map<string, string>();
  history.forEach((commit, i) => {
    for (const [path, content] of Object.entries(commit.files)) {
      const file = join(dir, path);
      if (content === null) rmSync(file, { force: true });
      else {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, content);
      }
    }
    git(["add", "-A"]);
    const date = new Date(T0 - (history.length - i) * 3_600_000).toISOString();
    git(["-c", "user.name=Eval", "-c", "user.email=eval@example.com", "commit", "-q", "-m", commit.subject], {
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_DATE: date,
    });
    shaOf.set(commit.subject, git(["rev-parse", "HEAD"]));
  });
  const first = history[0]?.subject ?? "";
  const last = history.at(-1)?.subject ?? "";
  return { dir, shaOf, running: shaOf.get(last) ?? "", previous: shaOf.get(first) ?? "" };
}

function workItemFor(scenario: Scenario): Evidence["workItem"] {
  return scenario.acceptanceCriteria
    ? {
        key: "EVAL-1",
        url: "",
        summary: scenario.description,
        status: "Done",
        acceptanceCriteria: scenario.acceptanceCriteria,
        criteriaSource: "field",
        agentNotes: [],
      }
    : null;
}

/**
 * The evidence of a history scenario: the real gatherer over the built checkout, then the deploy
 * range; and the running commit's own files, which are all the baseline gets to see.
 */
async function historyEvidence(
  scenario: Scenario,
  group: RankedGroup,
  built: BuiltHistory,
): Promise<{ evidence: Evidence; runningFiles: DiffFile[] }> {
  const gather = createEvidenceGatherer({
    repoDir: built.dir,
    github: null,
    jira: null,
    repositories: { services: {}, defaultRepository: null, githubHost: "github.com" },
    redactor: new Redactor(),
    diffTokenBudget: 12_000,
  });
  const predates = scenario.predates ? { commitSha: built.previous, count: scenario.predates } : null;
  const running = await gather(group);
  const runningFiles = running.files;
  const evidence = await followSuspectCommit(group, running, predates, {
    repoDir: built.dir,
    github: null,
    previous: scenario.previousKnown === false ? null : built.previous,
    gather,
  });
  return { evidence: { ...evidence, predates, workItem: workItemFor(scenario) }, runningFiles };
}

function diffEvidence(scenario: Scenario, group: RankedGroup): Evidence {
  const files = parseUnifiedDiff(scenario.diff ?? "");
  const suspects = scoreSuspects(COMMIT, files, group.samples);
  return {
    repository: "acme/eval",
    repositorySource: "config",
    commit: {
      sha: COMMIT,
      parents: [],
      author: "Eval",
      authoredAt: "2026-11-20T05:00:00Z",
      subject: scenario.description,
    },
    files,
    diffUnavailable: null,
    diffNotes: [],
    diffForAnalysis: trimDiffForAnalysis(files, suspects, 12_000),
    suspects,
    pullRequest: null,
    workItem: workItemFor(scenario),
    problems: [],
    agentSessions: [],
    predates: scenario.predates ? { commitSha: "d".repeat(40), count: scenario.predates } : null,
    suspectCommits: [],
    introducedBy: null,
  };
}

async function runScenario(
  analyst: Analyst,
  scenario: Scenario,
  built: BuiltHistory | null,
): Promise<ScenarioResult> {
  const collector = new GroupCollector();
  for (const span of toSpans(scenario, built?.running)) collector.addSpan(span);
  const [group] = rankGroups(collector.groups(), { sinceMs: T0 - 1, untilMs: T0 + 86_400_000 }, () => T0);
  const expected = scenario.expected.suspect;
  const unscored = {
    name: scenario.name,
    expected,
    predicted: null,
    correct: false,
    confidence: null,
    verdict: "undetermined" as const,
    baseline: null,
    top3: false,
    baselineTop3: false,
    onStack: false,
  };
  if (!group) return { ...unscored, error: "no group" };
  const { evidence, runningFiles } = built
    ? await historyEvidence(scenario, group, built)
    : { evidence: diffEvidence(scenario, group), runningFiles: null };
  // The baseline reads the running commit's diff only: it has no notion of a deploy range.
  const baselineFiles = baselineFrames(group.samples, runningFiles ?? evidence.files);
  const baseline = baselineFiles[0] ?? null;
  const onStack =
    expected !== null &&
    group.samples.some((s) => appFrames(s.stacktrace, null).some((f) => pathsMatch(f.file, expected)));
  const subjectOf = new Map([...(built?.shaOf ?? [])].map(([subject, sha]) => [sha, subject]));
  const expectedCommit = scenario.expected.commit;
  try {
    const analysis = await analyst.analyse(group, evidence);
    const predicted = analysis.suspect?.path ?? null;
    const shown = [...new Set([...(predicted ? [predicted] : []), ...evidence.suspects.map((s) => s.path)])];
    const namedSha = analysis.suspect?.commitSha ?? evidence.suspectCommits[0]?.sha ?? null;
    return {
      ...unscored,
      predicted,
      correct: predicted === expected,
      confidence: analysis.confidence,
      verdict: predicted
        ? "suspect"
        : /^Undetermined/.test(analysis.rootCause)
          ? "undetermined"
          : "no_code_cause",
      baseline,
      top3: expected !== null && shown.slice(0, 3).includes(expected),
      baselineTop3: expected !== null && baselineFiles.slice(0, 3).includes(expected),
      onStack,
      ...(built && expectedCommit
        ? {
            commit: {
              expected: expectedCommit,
              predicted: namedSha ? (subjectOf.get(namedSha) ?? namedSha) : null,
              baseline: baseline ? (subjectOf.get(built.running) ?? null) : null,
            },
          }
        : {}),
    };
  } catch (error) {
    return {
      ...unscored,
      baseline,
      onStack,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/**
 * The baseline the issue names: in-app frames (by package rules), in printed order, whose path
 * ends a path the running commit changed; the first is its answer, the first three its top 3.
 */
function baselineFrames(samples: readonly SpanSample[], files: readonly DiffFile[]): string[] {
  const found: string[] = [];
  for (const sample of samples) {
    for (const frame of appFrames(sample.stacktrace, null)) {
      const file = files.find((f) => f.status !== "deleted" && pathsMatch(frame.file, f.path));
      if (file && !found.includes(file.path)) found.push(file.path);
    }
  }
  return found;
}

function precision(claimed: readonly ScenarioResult[]): { correct: number; total: number } {
  return { correct: claimed.filter((r) => r.expected === null).length, total: claimed.length };
}
