import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Analyst } from "../src/analysis/analysis.ts";
import { parseUnifiedDiff } from "../src/evidence/diff.ts";
import type { Evidence } from "../src/evidence/gather.ts";
import { scoreSuspects } from "../src/evidence/suspects.ts";
import { trimDiffForAnalysis } from "../src/evidence/trim-diff.ts";
import { GroupCollector } from "../src/grouping/collector.ts";
import { rankGroups } from "../src/grouping/rank.ts";
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
  expected: { suspect: string | null };
}

export interface ScenarioResult {
  name: string;
  expected: string | null;
  predicted: string | null;
  correct: boolean;
  confidence: number | null;
  error?: string;
}

export interface EvalSummary {
  analyst: string;
  scenarios: number;
  suspectAccuracy: { correct: number; total: number };
  noCodeCauseAccuracy: { correct: number; total: number };
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
    };
    try {
      const analysis = await analyst.analyse(group, evidence);
      const predicted = analysis.suspect?.path ?? null;
      results.push({
        name: scenario.name,
        expected,
        predicted,
        correct: predicted === expected,
        confidence: analysis.confidence,
      });
    } catch (error) {
      results.push({
        name: scenario.name,
        expected,
        predicted: null,
        correct: false,
        confidence: null,
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
    results,
  };
}
