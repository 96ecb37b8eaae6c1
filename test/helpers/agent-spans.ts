import { StatusCode, type TelemetrySpan } from "../../src/telemetry/span.ts";

export interface SessionSpec {
  id: string;
  repo?: string;
  issue?: string;
  startMs: number;
  /** Tool calls in order; a name ending in "!" failed. */
  tools?: string[];
  denied?: string[];
  turns?: number;
  inputTokens?: number;
  outputTokens?: number;
  cacheRead?: number;
}

let counter = 0;
const id = (bytes: number) => {
  counter += 1;
  return counter.toString(16).padStart(bytes * 2, "0");
};

/** Claude Code hook spans for one session, shaped as the hooks export them (see telemetry.md). */
export function sessionSpans(spec: SessionSpec): TelemetrySpan[] {
  const common = {
    "session.id": spec.id,
    cwd: `/home/dev/src/${spec.repo?.split("/")[1] ?? "repo"}`,
    ...(spec.repo ? { "git.repo": spec.repo } : {}),
  };
  const resource = {
    "service.name": "claude-code",
    "gen_ai.system": "anthropic",
    ...(spec.issue ? { "work_tracker.issue_id": spec.issue } : {}),
  };
  const spans: TelemetrySpan[] = [];
  const span = (
    name: string,
    at: number,
    attributes: Record<string, string | number | boolean>,
    error = false,
  ): TelemetrySpan => ({
    traceId: id(16),
    spanId: id(8),
    parentSpanId: "",
    name,
    kind: 1,
    startTimeMs: at,
    endTimeMs: at + 1_000,
    status: error ? { code: StatusCode.Error, message: name } : { code: StatusCode.Unset, message: "" },
    attributes: { ...common, ...attributes },
    resource,
    scope: "claude_code_hooks",
    events: [],
  });
  let clock = spec.startMs;
  for (const tool of spec.tools ?? []) {
    const failed = tool.endsWith("!");
    spans.push(
      span(
        "claude_code.tool",
        clock,
        {
          "gen_ai.tool.name": tool.replace(/!$/, ""),
          "gen_ai.tool.success": !failed,
          ...(failed ? { "error.type": "tool_error", "error.message": "exit 1" } : {}),
        },
        failed,
      ),
    );
    clock += 30_000;
  }
  for (const tool of spec.denied ?? []) {
    spans.push(span("claude_code.permission.denied", clock, { "gen_ai.tool.name": tool }, true));
    clock += 30_000;
  }
  const turns = spec.turns ?? 1;
  for (let t = 0; t < turns; t++) {
    spans.push(
      span("claude_code.turn.stop", clock, {
        "turn.id": String(t + 1),
        "agent.stop_reason": "end_turn",
        "gen_ai.usage.input_tokens": Math.round((spec.inputTokens ?? 2_000) / turns),
        "gen_ai.usage.output_tokens": Math.round((spec.outputTokens ?? 400) / turns),
        "gen_ai.usage.cache_read_tokens": Math.round((spec.cacheRead ?? 10_000) / turns),
        "gen_ai.usage.cache_creation_tokens": 0,
      }),
    );
    clock += 60_000;
  }
  return spans;
}
