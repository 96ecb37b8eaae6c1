import type { DiffFile } from "../../evidence/diff.ts";
import type { Suspect } from "../../evidence/suspects.ts";

/**
 * What usually makes a query cost more with no error: a partition or date predicate removed or
 * widened, a LIMIT dropped, the SQL text changed, or a query moved inside a loop. Each changed
 * line is read on both sides of the diff (a removed predicate is the classic case).
 */
const SIGNALS: ReadonlyArray<{ test: RegExp; removed: boolean; score: number; why: string }> = [
  {
    test: /\b(dt|ds|day|date|event_date|partition\w*|_PARTITIONTIME|year|month|hour)\b\s*(=|>=|<=|>|<|BETWEEN\b|IN\b)/i,
    removed: true,
    score: 0.8,
    why: "removes a partition/date predicate",
  },
  { test: /\bLIMIT\b\s*[\d:$?]/i, removed: true, score: 0.6, why: "removes a LIMIT" },
  {
    test: /\b(dt|ds|day|date|event_date|partition\w*|_PARTITIONTIME)\b\s*(>=|<=|>|<|BETWEEN\b|IN\b)/i,
    removed: false,
    score: 0.6,
    why: "changes a partition/date range",
  },
  {
    test: /\b(SELECT|WHERE|JOIN|GROUP\s+BY|UNION|FROM\s+[\w."`]+)\b/i,
    removed: false,
    score: 0.55,
    why: "changes query text",
  },
  { test: /\b(SELECT|WHERE|JOIN)\b/i, removed: true, score: 0.55, why: "changes query text" },
];
const LOOP = /\b(for|while)\s*\(|\.(forEach|map|flatMap)\(|\bfor\s+\w+\s+in\b/;
const QUERY_CALL = /\b(query|execute|startQueryExecution|run[A-Z]?\w*Query|athena|scan)\w*\s*\(/i;

export function queryHunkSuspects(commitSha: string, files: readonly DiffFile[]): Suspect[] {
  const found: Suspect[] = [];
  for (const file of files) {
    if (file.status === "deleted" || file.binary || file.path === "") continue;
    for (const hunk of file.hunks) {
      let newLine = hunk.newStart;
      const reasons: Array<{ line: number; score: number; why: string }> = [];
      for (const text of hunk.lines) {
        const removed = text.startsWith("-");
        const added = text.startsWith("+");
        if (added || removed) {
          const body = text.slice(1);
          const signal = SIGNALS.find((s) => s.removed === removed && s.test.test(body));
          if (signal) reasons.push({ line: newLine, score: signal.score, why: signal.why });
        }
        if (added || text.startsWith(" ")) newLine += 1;
      }
      const addedText = hunk.lines.filter((l) => l.startsWith("+")).join("\n");
      if (LOOP.test(addedText) && QUERY_CALL.test(hunk.lines.join("\n"))) {
        reasons.push({
          line: hunk.addedLines[0] ?? hunk.newStart,
          score: 0.55,
          why: "adds a loop around a query",
        });
      }
      const best = reasons.sort((a, b) => b.score - a.score)[0];
      if (!best) continue;
      const kinds = [...new Set(reasons.map((r) => r.why))];
      found.push({
        commitSha,
        path: file.path,
        line: best.line,
        score: best.score,
        reason: `the hunk at ${file.path}:${hunk.newStart} ${kinds.join(", ")}`,
      });
    }
  }
  return found;
}

/** Query hunks join the stack/code-location suspects; on one file, independent signals add up. */
export function withQuerySuspects(suspects: readonly Suspect[], extra: readonly Suspect[]): Suspect[] {
  const merged = [...suspects];
  // Several query hunks in one file are one signal, not several: keep the strongest.
  const strongest = new Map<string, Suspect>();
  for (const s of extra) {
    const seen = strongest.get(s.path);
    if (!seen || s.score > seen.score) strongest.set(s.path, s);
  }
  for (const s of strongest.values()) {
    const same = merged.findIndex((m) => m.path === s.path);
    const existing = merged[same];
    if (existing) {
      merged[same] = {
        ...existing,
        line: s.score > existing.score ? s.line : existing.line,
        score: Math.round((1 - (1 - existing.score) * (1 - s.score)) * 100) / 100,
        reason: `${existing.reason}; ${s.reason}`,
      };
    } else merged.push(s);
  }
  return merged.sort((a, b) => b.score - a.score || a.path.localeCompare(b.path)).slice(0, 10);
}
