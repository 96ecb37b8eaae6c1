import type { CountRow } from "../../telemetry/source.ts";
import { studentTCdf } from "../cost-regression/significance.ts";
import type { AgentUsage, Behaviour } from "./behaviour.ts";
import { type AgentAggregates, REPO, SESSION, SUCCESS, TOKEN_SUMS, TOOL } from "./queries.ts";
import type { AgentSettings } from "./settings.ts";

export interface Finding {
  behaviour: Behaviour;
  firstMs: number;
  lastMs: number;
}

const READ_TOOLS = new Set(["Read", "Grep", "Glob", "LS", "WebFetch", "WebSearch", "NotebookRead"]);
const WRITE_TOOLS = new Set(["Edit", "Write", "MultiEdit", "NotebookEdit"]);
const MAX_SESSIONS_LISTED = 20;

/** Denials of one tool in one repository, clustered: the agent keeps asking for what it may not do. */
export function denialClusters(agg: AgentAggregates, settings: AgentSettings): Finding[] {
  const clusters = new Map<
    string,
    { tool: string; repo: string; count: number; sessions: Set<string>; first: number; last: number }
  >();
  for (const row of agg.denials) {
    const tool = row.keys[TOOL] || "(unnamed tool)";
    const repo = row.keys[REPO] ?? "";
    const id = `${tool}\n${repo}`;
    const c = clusters.get(id) ?? {
      tool,
      repo,
      count: 0,
      sessions: new Set<string>(),
      first: row.firstMs,
      last: row.lastMs,
    };
    c.count += row.count;
    if (row.keys[SESSION]) c.sessions.add(row.keys[SESSION]);
    c.first = Math.min(c.first, row.firstMs);
    c.last = Math.max(c.last, row.lastMs);
    clusters.set(id, c);
  }
  return [...clusters.values()]
    .filter((c) => c.count >= settings.minDenials)
    .map((c) => ({
      firstMs: c.first,
      lastMs: c.last,
      behaviour: {
        signal: "permission_denied",
        tool: c.tool,
        repo: c.repo || null,
        count: c.count,
        baseline: null,
        sessions: [...c.sessions].sort().slice(0, MAX_SESSIONS_LISTED),
        detail: `${c.count} permission denial(s) of ${c.tool} in ${c.sessions.size} session(s)${c.repo ? ` in ${c.repo}` : ""}`,
        guardrail: `Decide ${c.tool} for ${c.repo || "this repository"} once: allow it in .claude/settings.json (permissions.allow) if the work needs it, or add a CLAUDE.md rule that says not to use it and what to do instead, so sessions stop stalling on the prompt.`,
      },
    }));
}

/** A tool failing far more often in the window than in the days before (two-proportion test). */
export function toolFailureSpikes(agg: AgentAggregates, settings: AgentSettings): Finding[] {
  const rates = (rows: readonly CountRow[]) => {
    const byTool = new Map<
      string,
      {
        calls: number;
        failures: number;
        sessions: Set<string>;
        repos: Set<string>;
        first: number;
        last: number;
      }
    >();
    for (const row of rows) {
      const tool = row.keys[TOOL] || "(unnamed tool)";
      const t = byTool.get(tool) ?? {
        calls: 0,
        failures: 0,
        sessions: new Set<string>(),
        repos: new Set<string>(),
        first: row.firstMs,
        last: row.lastMs,
      };
      t.calls += row.count;
      if (row.keys[SUCCESS] === "false") {
        t.failures += row.count;
        if (row.keys[SESSION]) t.sessions.add(row.keys[SESSION]);
        if (row.keys[REPO]) t.repos.add(row.keys[REPO]);
        t.first = Math.min(t.first, row.firstMs);
        t.last = Math.max(t.last, row.lastMs);
      }
      byTool.set(tool, t);
    }
    return byTool;
  };
  const now = rates(agg.toolsInWindow);
  const before = rates(agg.toolsBefore);
  const findings: Finding[] = [];
  for (const [tool, w] of now) {
    const p = before.get(tool);
    if (!p || p.calls < 20 || w.failures < settings.minFailures) continue;
    const rateNow = w.failures / w.calls;
    const rateBefore = p.failures / p.calls;
    if (rateNow < settings.failureRatio * rateBefore || rateNow - rateBefore < 0.05) continue;
    if (oneSidedProportionP(w.failures, w.calls, p.failures, p.calls) >= settings.alpha) continue;
    const repo = w.repos.size === 1 ? ([...w.repos][0] ?? null) : null;
    findings.push({
      firstMs: w.first,
      lastMs: w.last,
      behaviour: {
        signal: "tool_failures",
        tool,
        repo,
        count: w.failures,
        baseline: round(rateBefore),
        sessions: [...w.sessions].sort().slice(0, MAX_SESSIONS_LISTED),
        detail: `${tool} failed ${w.failures} of ${w.calls} calls (${pct(rateNow)}) against ${pct(rateBefore)} of ${p.calls} in the days before`,
        guardrail: `Check what changed under ${tool} (its MCP server, credentials, sandbox or the command it wraps). A CLAUDE.md rule can tell the agent to stop after two failures of ${tool} and report instead of retrying.`,
      },
    });
  }
  return findings;
}

/**
 * Sessions far above their repository's norm: more tool calls or tokens than every earlier
 * session of the repository and `runawayFactor` × its median (with enough history to say so).
 */
export function runawaySessions(
  agg: AgentAggregates,
  settings: AgentSettings,
  windowSinceMs: number,
): Finding[] {
  const sessions = sessionFigures(agg, windowSinceMs);
  const byRepo = new Map<string, SessionFigures[]>();
  for (const s of sessions.values()) byRepo.set(s.repo, [...(byRepo.get(s.repo) ?? []), s]);
  const findings: Finding[] = [];
  for (const [repo, list] of byRepo) {
    const history = list.filter((s) => !s.inWindow);
    if (history.length < settings.minHistorySessions) continue;
    const flagged: Array<{ s: SessionFigures; why: string }> = [];
    const calls = history.map((s) => s.toolCalls);
    const tokens = history.map((s) => s.tokens);
    for (const s of list.filter((x) => x.inWindow)) {
      const overCalls =
        s.toolCalls > Math.max(...calls) && s.toolCalls > settings.runawayFactor * median(calls);
      const overTokens = s.tokens > Math.max(...tokens) && s.tokens > settings.runawayFactor * median(tokens);
      if (overCalls) flagged.push({ s, why: `${s.toolCalls} tool calls (median ${median(calls)})` });
      else if (overTokens) flagged.push({ s, why: `${s.tokens} tokens (median ${median(tokens)})` });
    }
    if (flagged.length === 0) continue;
    findings.push({
      firstMs: Math.min(...flagged.map((f) => f.s.firstMs)),
      lastMs: Math.max(...flagged.map((f) => f.s.lastMs)),
      behaviour: {
        signal: "runaway_session",
        tool: null,
        repo: repo || null,
        count: flagged.length,
        baseline: median(calls),
        sessions: flagged
          .map((f) => f.s.id)
          .sort()
          .slice(0, MAX_SESSIONS_LISTED),
        detail: `${flagged.length} session(s)${repo ? ` in ${repo}` : ""} far above the ${history.length} before them: ${flagged.map((f) => `${f.s.id} ${f.why}`).join("; ")}`,
        guardrail:
          "Cap the agent's turns or budget for unattended sessions (max turns, a token budget), and add a CLAUDE.md rule to stop and summarise when a task needs more than a set number of steps.",
      },
    });
  }
  return findings;
}

export interface SessionFigures {
  id: string;
  repo: string;
  issueKeys: string[];
  toolCalls: number;
  /** Edit/Write-type calls: a session that wrote nothing wrote no commit. */
  writeCalls: number;
  toolFailures: number;
  permissionDenials: number;
  inputTokens: number;
  outputTokens: number;
  tokens: number;
  firstMs: number;
  lastMs: number;
  inWindow: boolean;
}

/** Every session seen, with its figures: for runaway norms and for linking sessions to commits. */
export function sessionFigures(agg: AgentAggregates, windowSinceMs: number): Map<string, SessionFigures> {
  const sessions = new Map<string, SessionFigures>();
  const get = (row: CountRow) => {
    const id = row.keys[SESSION] ?? "";
    if (!id) return null;
    const s = sessions.get(id) ?? {
      id,
      repo: row.keys[REPO] ?? "",
      issueKeys: [],
      toolCalls: 0,
      writeCalls: 0,
      toolFailures: 0,
      permissionDenials: 0,
      inputTokens: 0,
      outputTokens: 0,
      tokens: 0,
      firstMs: row.firstMs,
      lastMs: row.lastMs,
      inWindow: false,
    };
    s.repo ||= row.keys[REPO] ?? "";
    s.firstMs = Math.min(s.firstMs, row.firstMs);
    s.lastMs = Math.max(s.lastMs, row.lastMs);
    s.inWindow ||= s.lastMs >= windowSinceMs;
    sessions.set(id, s);
    return s;
  };
  for (const row of [...agg.toolsInWindow, ...agg.toolsBefore]) {
    const s = get(row);
    if (!s) continue;
    s.toolCalls += row.count;
    if (WRITE_TOOLS.has(row.keys[TOOL] ?? "")) s.writeCalls += row.count;
    if (row.keys[SUCCESS] === "false") s.toolFailures += row.count;
  }
  for (const row of agg.denials) {
    const s = get(row);
    if (s) s.permissionDenials += row.count;
  }
  for (const row of agg.turns) {
    const s = get(row);
    if (!s) continue;
    s.inputTokens += row.sums["gen_ai.usage.input_tokens"] ?? 0;
    s.outputTokens += row.sums["gen_ai.usage.output_tokens"] ?? 0;
    s.tokens = s.inputTokens + s.outputTokens;
    const key = row.keys["work_tracker.issue_id"];
    if (key && !s.issueKeys.includes(key)) s.issueKeys.push(key);
  }
  return sessions;
}

export function usageSummary(agg: AgentAggregates, windowSinceMs: number, enabled: boolean): AgentUsage {
  const byTool = new Map<string, { calls: number; failures: number }>();
  let reads = 0;
  let writes = 0;
  for (const row of agg.toolsInWindow) {
    const tool = row.keys[TOOL] || "(unnamed tool)";
    const t = byTool.get(tool) ?? { calls: 0, failures: 0 };
    t.calls += row.count;
    if (row.keys[SUCCESS] === "false") t.failures += row.count;
    byTool.set(tool, t);
    if (READ_TOOLS.has(tool)) reads += row.count;
    if (WRITE_TOOLS.has(tool)) writes += row.count;
  }
  const calls = [...byTool.values()].reduce((n, t) => n + t.calls, 0);
  const failures = [...byTool.values()].reduce((n, t) => n + t.failures, 0);
  const denials = new Map<string, { tool: string; repo: string; count: number }>();
  for (const row of agg.denials) {
    const tool = row.keys[TOOL] || "(unnamed tool)";
    const repo = row.keys[REPO] ?? "";
    const d = denials.get(`${tool}\n${repo}`) ?? { tool, repo, count: 0 };
    d.count += row.count;
    denials.set(`${tool}\n${repo}`, d);
  }
  const inWindow = agg.turns.filter((r) => r.lastMs >= windowSinceMs);
  const sum = (key: string) => inWindow.reduce((n, r) => n + (r.sums[key] ?? 0), 0);
  const tokens = {
    input: sum(TOKEN_SUMS[0]),
    output: sum(TOKEN_SUMS[1]),
    cacheRead: sum(TOKEN_SUMS[2]) + sum(TOKEN_SUMS[4]),
    cacheCreation: sum(TOKEN_SUMS[3]) + sum(TOKEN_SUMS[5]),
  };
  const allInput = tokens.input + tokens.cacheRead + tokens.cacheCreation;
  const windowRows = [...agg.toolsInWindow, ...agg.denials, ...inWindow];
  const ids = new Set(windowRows.map((r) => r.keys[SESSION]).filter(Boolean));
  const withRepo = new Set(windowRows.filter((r) => r.keys[REPO]).map((r) => r.keys[SESSION]));
  return {
    enabled,
    sessions: ids.size,
    sessionsWithoutRepo: [...ids].filter((id) => !withRepo.has(id)).length,
    toolCalls: calls,
    toolCallsByTool: [...byTool.entries()]
      .map(([tool, t]) => ({ tool, calls: t.calls, failures: t.failures }))
      .sort((a, b) => b.calls - a.calls || a.tool.localeCompare(b.tool)),
    readWriteRatio: writes > 0 ? round(reads / writes) : null,
    toolErrorRate: calls > 0 ? round(failures / calls) : null,
    topDenials: [...denials.values()].sort((a, b) => b.count - a.count).slice(0, 5),
    tokens,
    cacheHitRatio: allInput > 0 ? round(tokens.cacheRead / allInput) : null,
    failed: agg.failed,
    requests: agg.requests,
    truncated: agg.truncated,
  };
}

/** One-sided p of "the first proportion is higher" (pooled two-proportion z-test). */
function oneSidedProportionP(f1: number, n1: number, f0: number, n0: number): number {
  const pooled = (f1 + f0) / (n1 + n0);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0));
  if (se === 0) return f1 / n1 > f0 / n0 ? 0 : 1;
  const z = (f1 / n1 - f0 / n0) / se;
  // Student's t with very many degrees of freedom is the standard normal.
  return 1 - studentTCdf(z, 1e7);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function pct(rate: number): string {
  return `${(rate * 100).toFixed(1)} %`;
}
