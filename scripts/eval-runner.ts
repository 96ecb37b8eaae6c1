import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Analyst } from "../src/analysis/analysis.ts";
import { type DiffFile, parseUnifiedDiff } from "../src/evidence/diff.ts";
import type { Evidence } from "../src/evidence/gather.ts";
import { pathsMatch, scoreSuspects } from "../src/evidence/suspects.ts";
import { trimDiffForAnalysis } from "../src/evidence/trim-diff.ts";
import { GroupCollector, type SpanSample } from "../src/grouping/collector.ts";
import { rankGroups } from "../src/grouping/rank.ts";
import { parseStackTrace } from "../src/grouping/stack-frames.ts";
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

export interface Scenario {
  name: string;
  description: string;
  service: string;
  spans: ScenarioSpan[];
  diff: string;
  acceptanceCriteria: string;
  /** The same error also fired this many times on the commit that ran before (it predates the deploy). */
  predates?: number;
  expected: { suspect: string | null };
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
  baseline: {
    suspectAccuracy: { correct: number; total: number };
    noCodeCausePrecision: { correct: number; total: number };
  };
  results: ScenarioResult[];
}

export function loadScenarios(dir = EVAL_DIR): Scenario[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Scenario);
}

function toSpans(scenario: Scenario): TelemetrySpan[] {
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
          : { "service.name": scenario.service, "build.commit_sha": COMMIT },
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
    const collector = new GroupCollector();
    for (const span of toSpans(scenario)) collector.addSpan(span);
    const [group] = rankGroups(collector.groups(), { sinceMs: T0 - 1, untilMs: T0 + 86_400_000 }, () => T0);
    const expected = scenario.expected.suspect;
    if (!group) {
      results.push({
        name: scenario.name,
        expected,
        predicted: null,
        correct: false,
        confidence: null,
        verdict: "undetermined",
        baseline: null,
        error: "no group",
      });
      continue;
    }
    const files = parseUnifiedDiff(scenario.diff);
    const suspects = scoreSuspects(COMMIT, files, group.samples);
    const evidence: Evidence = {
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
      workItem: scenario.acceptanceCriteria
        ? {
            key: "EVAL-1",
            url: "",
            summary: scenario.description,
            status: "Done",
            acceptanceCriteria: scenario.acceptanceCriteria,
            criteriaSource: "field",
            agentNotes: [],
          }
        : null,
      problems: [],
      agentSessions: [],
      predates: scenario.predates ? { commitSha: "d".repeat(40), count: scenario.predates } : null,
      suspectCommits: [],
      introducedBy: null,
    };
    const baseline = firstFrameOnChangedFile(group.samples, files);
    try {
      const analysis = await analyst.analyse(group, evidence);
      const predicted = analysis.suspect?.path ?? null;
      results.push({
        name: scenario.name,
        expected,
        predicted,
        correct: predicted === expected,
        confidence: analysis.confidence,
        verdict: predicted
          ? "suspect"
          : /^Undetermined/.test(analysis.rootCause)
            ? "undetermined"
            : "no_code_cause",
        baseline,
      });
    } catch (error) {
      results.push({
        name: scenario.name,
        expected,
        predicted: null,
        correct: false,
        confidence: null,
        verdict: "undetermined",
        baseline,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  const withCause = results.filter((r) => r.expected !== null);
  const innocent = results.filter((r) => r.expected === null);
  return {
    analyst: analyst.name,
    scenarios: results.length,
    suspectAccuracy: { correct: withCause.filter((r) => r.correct).length, total: withCause.length },
    noCodeCauseAccuracy: { correct: innocent.filter((r) => r.correct).length, total: innocent.length },
    noCodeCausePrecision: precision(results.filter((r) => r.verdict === "no_code_cause")),
    undetermined: results.filter((r) => r.verdict === "undetermined").length,
    baseline: {
      suspectAccuracy: {
        correct: withCause.filter((r) => r.baseline === r.expected).length,
        total: withCause.length,
      },
      noCodeCausePrecision: precision(results.filter((r) => r.baseline === null)),
    },
    results,
  };
}

function precision(claimed: readonly ScenarioResult[]): { correct: number; total: number } {
  return { correct: claimed.filter((r) => r.expected === null).length, total: claimed.length };
}

/** The baseline the issue names: the first in-app frame whose path ends a changed file's path. */
function firstFrameOnChangedFile(samples: readonly SpanSample[], files: readonly DiffFile[]): string | null {
  for (const sample of samples) {
    for (const frame of parseStackTrace(sample.stacktrace, { allFormats: true }).filter((f) => f.inApp)) {
      const file = files.find((f) => f.status !== "deleted" && pathsMatch(frame.file, f.path));
      if (file) return file.path;
    }
  }
  return null;
}
