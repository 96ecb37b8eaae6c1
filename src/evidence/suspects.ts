import type { SpanSample } from "../grouping/collector.ts";
import { parseStackTrace, type StackFrame } from "../grouping/stack-frames.ts";
import type { DiffFile, DiffHunk } from "./diff.ts";
import type { RepoTree } from "./repo-tree.ts";

export interface Suspect {
  commitSha: string;
  path: string;
  line?: number;
  score: number;
  reason: string;
}

/** The analysis's `suspect` for a diff suspect: what an analyst names as the change responsible. */
export function suspectFor(
  commitSha: string,
  top: Suspect,
): { commitSha: string; path: string; line?: number; why: string } {
  return {
    commitSha,
    path: top.path,
    ...(top.line !== undefined ? { line: top.line } : {}),
    why: top.reason,
  };
}

const NEAR_HUNK_LINES = 10;
// Deeper frames are callers; a changed caller matters, a changed innermost frame matters more.
export const DEPTH_DECAY = 0.85;
/**
 * The score at which a suspect is called the commit's doing: a frame on or inside a changed hunk
 * (0.85–1), a query hunk that removes a predicate (0.8); a file touched away from the lines (0.45)
 * or a code location alone (0.5) stays a candidate.
 */
export const STRONG_SUSPECT = 0.6;
// Frames of the exceptions that wrapped the root cause count a little less than its own.
export const CAUSE_DECAY = 0.9;
const MAX_SUSPECTS = 10;

/**
 * Ranks the commit's changed files and lines by how directly the failing stacks run through them.
 * Pure: the same diff and samples always give the same list, with a reason a person can check.
 * With the commit's tree, application code is what the repository holds; without it, what the
 * package rules say (library and runtime paths, JDK and harness packages).
 */
export function scoreSuspects(
  commitSha: string,
  files: readonly DiffFile[],
  samples: readonly SpanSample[],
  tree: RepoTree | null = null,
): Suspect[] {
  const changed = files.filter((f) => f.status !== "deleted" && f.path !== "");
  const best = new Map<string, Suspect & { hits: Set<number> }>();
  // Per file, the strongest score of each kind of signal (stack, code.filepath, code.function, message).
  const signals = new Map<string, Map<string, number>>();
  const consider = (candidate: Suspect, sampleIndex: number) => {
    const kinds = signals.get(candidate.path) ?? new Map<string, number>();
    const kind = signalKind(candidate.reason);
    kinds.set(kind, Math.max(kinds.get(kind) ?? 0, candidate.score));
    signals.set(candidate.path, kinds);
    const key = `${candidate.path}:${candidate.line ?? ""}`;
    const current = best.get(key);
    if (!current || candidate.score > current.score) {
      best.set(key, { ...candidate, hits: new Set([...(current?.hits ?? []), sampleIndex]) });
    } else {
      current.hits.add(sampleIndex);
    }
  };

  samples.forEach((sample, sampleIndex) => {
    const frames = appFrames(sample.stacktrace, tree);
    const chained = frames.some((f) => f.causeDepth > 0);
    // Depth counts within each exception of a chain: the root cause's own frames are not pushed
    // down by the wrappers printed above them (a `throw` on an added line at depth 31 was 0.01).
    const depthIn = new Map<number, number>();
    for (const frame of frames) {
      const depth = depthIn.get(frame.causeDepth) ?? 0;
      depthIn.set(frame.causeDepth, depth + 1);
      const file = changed.find((f) => pathsMatch(frame.file, f.path));
      if (!file) continue;
      const { score, why } = lineProximity(frame, file.hunks);
      const of = !chained
        ? ""
        : frame.causeDepth === 0
          ? " of the root cause"
          : ` of a wrapping exception (${frame.causeDepth} from the root cause)`;
      consider(
        {
          commitSha,
          path: file.path,
          ...(frame.line !== null ? { line: frame.line } : {}),
          score: score * DEPTH_DECAY ** depth * CAUSE_DECAY ** frame.causeDepth,
          reason: `stack frame #${depth + 1}${of} (${frame.function || "<anonymous>"} at ${file.path}${frame.line !== null ? `:${frame.line}` : ""}) ${why}`,
        },
        sampleIndex,
      );
    }
    for (const hint of changedLinesNamedBy(sample, changed)) consider({ commitSha, ...hint }, sampleIndex);
    const codePath = codeLocationOf(sample);
    const file = codePath && changed.find((f) => pathsMatch(codePath.file, f.path));
    if (codePath && file) {
      consider(
        {
          commitSha,
          path: file.path,
          ...(codePath.line !== null ? { line: codePath.line } : {}),
          score: 0.5,
          reason: `span attribute code.filepath names ${file.path}, which this commit changed`,
        },
        sampleIndex,
      );
    }
  });

  return [...best.values()]
    .map(({ hits, ...suspect }) => {
      const seen = samples.length > 1 ? `; seen in ${hits.size} of ${samples.length} samples` : "";
      const kinds = signals.get(suspect.path) ?? new Map<string, number>();
      // Independent kinds of evidence on one file add up (noisy-OR); repeats of one kind do not.
      const combined = 1 - [...kinds.values()].reduce((p, s) => p * (1 - s), 1);
      const boosted = kinds.size >= 2 && combined > suspect.score;
      return {
        ...suspect,
        score: Math.round((boosted ? combined : suspect.score) * 100) / 100,
        reason: `${suspect.reason}${seen}${boosted ? `; ${kinds.size} independent signals point at this file (${[...kinds.keys()].join(", ")})` : ""}`,
      };
    })
    .sort((a, b) => b.score - a.score || a.path.localeCompare(b.path) || (a.line ?? 0) - (b.line ?? 0))
    .slice(0, MAX_SUSPECTS);
}

/** The frames of a stack that run through application code, innermost first. */
export function appFrames(stacktrace: string, tree: RepoTree | null): StackFrame[] {
  const frames = parseStackTrace(stacktrace, { allFormats: true });
  return frames.filter((f) => (tree ? tree.owns(f) : f.inApp));
}

function signalKind(reason: string): string {
  if (reason.startsWith("stack frame")) return "stack";
  if (reason.includes("code.filepath")) return "code.filepath";
  if (reason.includes("code.function")) return "code.function";
  return "error message";
}

function lineProximity(frame: StackFrame, hunks: readonly DiffHunk[]): { score: number; why: string } {
  if (frame.line === null) return { score: 0.45, why: "is in a file this commit changed (no line number)" };
  const line = frame.line;
  if (hunks.some((h) => h.addedLines.includes(line)))
    return { score: 1, why: "is on a line this commit changed" };
  if (hunks.some((h) => line >= h.newStart && line < h.newStart + h.newLines)) {
    return { score: 0.85, why: "is inside a hunk this commit changed" };
  }
  const distance = Math.min(
    ...hunks.map((h) =>
      Math.min(Math.abs(line - h.newStart), Math.abs(line - (h.newStart + h.newLines - 1))),
    ),
  );
  if (distance <= NEAR_HUNK_LINES) return { score: 0.7, why: `is ${distance} lines from a changed hunk` };
  return { score: 0.45, why: "is in a file this commit changed, away from the changed lines" };
}

/** Stack paths are absolute on the host, diff paths are repo-relative: match on whole trailing segments. */
export function pathsMatch(stackPath: string, diffPath: string): boolean {
  if (stackPath === "" || diffPath === "") return false;
  const stack = stackPath.replace(/^\.\//, "");
  return (
    stack === diffPath ||
    // A JVM class in the default package names only its file (Foo.java): match it by file name.
    (/^[\w$]+\.(java|kt|scala)$/.test(stack) && diffPath.endsWith(`/${stack}`)) ||
    stack.endsWith(`/${diffPath}`) ||
    (stack.includes("/") && diffPath.endsWith(`/${stack}`))
  );
}

/**
 * Weaker signals than the stack: the function a span says it ran in (code.function), and
 * identifiers the error message quotes ("reading 'discounts'"), found on lines this commit added.
 */
function changedLinesNamedBy(
  sample: SpanSample,
  files: readonly DiffFile[],
): Array<Omit<Suspect, "commitSha">> {
  const fn = sample.attributes["code.function"] ?? sample.attributes["code.function.name"];
  const functionName = typeof fn === "string" ? (fn.split(/[.:#]/).pop() ?? "") : "";
  const quoted = identifiersIn(sample.message);
  const hints: Array<Omit<Suspect, "commitSha">> = [];
  for (const file of files) {
    for (const { line, text } of addedLinesOf(file)) {
      if (functionName.length > 2 && new RegExp(`\\b${escapeRegExp(functionName)}\\b`).test(text)) {
        hints.push({
          path: file.path,
          line,
          score: 0.5,
          reason: `span attribute code.function names ${functionName}, which line ${line} of ${file.path} changes`,
        });
      }
      const named = quoted.find((id) => new RegExp(`\\b${escapeRegExp(id)}\\b`).test(text));
      if (named) {
        hints.push({
          path: file.path,
          line,
          score: 0.55,
          reason: `the error message names "${named}", which line ${line} of ${file.path} adds`,
        });
      }
    }
  }
  return hints;
}

/**
 * The identifiers an error message names: quoted words ("reading 'discounts'") that are not
 * common words, then code-shaped ones it prints bare (`total_cents`, `applyDiscount`); exception
 * class names are not identifiers of the change.
 */
export function identifiersIn(message: string): string[] {
  const text = message.slice(0, 2_000);
  const quoted = [...text.matchAll(/['"`]([A-Za-z_$][\w$]{2,40})['"`]/g)].map((m) => m[1] ?? "");
  const bare = [...text.matchAll(/(?<![\w$./-])([A-Za-z_$][\w$]{2,40})(?![\w$])/g)]
    .map((m) => m[1] ?? "")
    .filter((word) => /[a-z0-9]_[a-z0-9]|[a-z][A-Z]/.test(word) && !/(Error|Exception|Warning)$/.test(word));
  return [...new Set([...quoted, ...bare])].filter((word) => !COMMON_WORDS.has(word.toLowerCase()));
}

// Words an error message quotes that name nothing in particular: on a changed line they are noise.
const COMMON_WORDS = new Set([
  "null",
  "undefined",
  "none",
  "nil",
  "true",
  "false",
  "name",
  "value",
  "values",
  "id",
  "key",
  "keys",
  "type",
  "data",
  "item",
  "items",
  "object",
  "string",
  "number",
  "length",
  "result",
  "error",
  "message",
  "self",
  "this",
  "len",
  "list",
  "dict",
  "map",
  "get",
  "set",
  "index",
  "default",
]);

function addedLinesOf(file: DiffFile): Array<{ line: number; text: string }> {
  return file.hunks.flatMap((hunk) => {
    const added = hunk.lines.filter((l) => l.startsWith("+"));
    return added.map((text, i) => ({ line: hunk.addedLines[i] ?? hunk.newStart, text: text.slice(1) }));
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function codeLocationOf(sample: SpanSample): { file: string; line: number | null } | null {
  const file = sample.attributes["code.filepath"] ?? sample.attributes["code.file.path"];
  if (typeof file !== "string" || file === "") return null;
  const line = sample.attributes["code.lineno"] ?? sample.attributes["code.line.number"];
  return { file, line: typeof line === "number" ? line : null };
}
