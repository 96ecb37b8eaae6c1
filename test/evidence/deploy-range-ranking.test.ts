import { describe, expect, it } from "vitest";
import {
  type BlamedLine,
  type HistoryReader,
  suspectCommitsInRange,
} from "../../src/evidence/deploy-range.ts";
import { localHistory } from "../../src/evidence/history.ts";
import { scratchRepo } from "../helpers/git-repo.ts";
import { spanSample } from "../helpers/spans.ts";
import { useTempDirs } from "../helpers/tmp.ts";

const RUNNING = "c".repeat(40);
const PREVIOUS = "0".repeat(40);
const A = "a".repeat(40); // older commit of the range
const B = "b".repeat(40); // newer commit of the range
const BASE = "9".repeat(40); // before the deploy

const sample = spanSample;

/**
 * A history held in memory: `owners` says which commit last changed each line of each file. The
 * reader is tracefix's own interface (git and GitHub implement it), so this is a second
 * implementation, not a stand-in for a client library.
 */
function memoryHistory(
  owners: Record<string, (line: number) => string>,
  options: { naming?: Record<string, string[]>; failBlame?: string[]; rangeSize?: number } = {},
): HistoryReader & { blamed: string[] } {
  const subjects = new Map([
    [B, "Newer change (PROJ-2)"],
    [A, "Older change (PROJ-1)"],
    [RUNNING, "Running commit"],
  ]);
  const range = [RUNNING, B, A];
  for (let i = 0; i < (options.rangeSize ?? 0); i++) range.push(i.toString(16).padStart(40, "1"));
  const blamed: string[] = [];
  return {
    blamed,
    between: async (previous) => (previous === PREVIOUS ? { shas: range, subjects } : null),
    walk: async () => ({ shas: range, subjects }),
    authoredSec: async () => 1_790_000_000,
    paths: async () => [...Object.keys(owners), "node_modules/lib/index.js"],
    blame: async (_running, path, from, to) => {
      blamed.push(`${path}:${from}-${to}`);
      if (options.failBlame?.includes(path)) throw new Error(`fatal: cannot blame binary file ${path}`);
      const owner = owners[path];
      if (!owner) throw new Error(`no such path ${path}`);
      const lines: BlamedLine[] = [];
      for (let line = from; line <= Math.min(to, 60); line++)
        lines.push({ line, sha: owner(line), subject: subjects.get(owner(line)) ?? "Base" });
      return lines;
    },
    ...(options.naming
      ? { naming: async (shas, word) => (options.naming?.[word] ?? []).filter((s) => shas.includes(s)) }
      : {}),
  };
}

describe("ranking the commits of a deploy range", () => {
  it("credits the frame's own line fully and a line near it less, saying how far", async () => {
    const reader = memoryHistory({
      "src/a.js": (line) => (line === 20 ? A : BASE),
      "src/b.js": (line) => (line === 33 ? B : BASE),
    });
    const stack = "Error: x\n    at f (/app/src/a.js:20:3)\n    at g (/app/src/b.js:30:3)";
    const { commits } = await suspectCommitsInRange(reader, RUNNING, PREVIOUS, [sample(stack)]);
    expect(commits.map((c) => [c.sha, c.score])).toEqual([
      [A, 1],
      [B, Math.round(0.7 * 0.85 * 100) / 100],
    ]);
    expect(commits[1]?.reason).toBe("it changed line 33, 3 from src/b.js:30 (frame #2, g)");
    expect(commits[0]?.issueKey).toBe("PROJ-1");
  });

  it("adds up the frames one commit wrote, so three nearby lines outrank one far-down line", async () => {
    const reader = memoryHistory({
      "src/a.js": (line) => (line === 5 ? A : BASE),
      "src/b.js": (line) => (line === 12 ? B : BASE),
      "src/c.js": (line) => (line === 14 ? B : BASE),
    });
    const stack = [
      "Error: x",
      "    at f (/app/src/b.js:10:3)",
      "    at g (/app/src/c.js:10:3)",
      "    at h (/app/src/a.js:5:3)",
    ].join("\n");
    const { commits } = await suspectCommitsInRange(reader, RUNNING, PREVIOUS, [sample(stack)]);
    // B: 0.7 and 0.7 × 0.85 combined (0.88); A: its own line but two frames down (0.85²).
    expect(commits.map((c) => c.sha)).toEqual([B, A]);
    expect(commits[0]?.score).toBe(0.88);
    expect(commits[1]?.score).toBe(0.72);
  });

  it("breaks a tie in favour of the newer commit of the range", async () => {
    const reader = memoryHistory({ "src/a.js": (line) => (line === 9 ? A : line === 11 ? B : BASE) });
    const { commits } = await suspectCommitsInRange(reader, RUNNING, PREVIOUS, [
      sample("Error: x\n    at f (/app/src/a.js:10:3)"),
    ]);
    expect(commits.map((c) => [c.sha, c.score])).toEqual([
      [B, 0.7],
      [A, 0.7],
    ]);
  });

  it("makes a commit that only names what the error names a weak candidate, below the follow score", async () => {
    const reader = memoryHistory(
      { "src/ledger.js": () => BASE },
      { naming: { total_cents: [A], balanceOf: [] } },
    );
    const stack = "Error: unbalanced\n    at check (/app/src/ledger.js:40:3)";
    const { commits } = await suspectCommitsInRange(reader, RUNNING, PREVIOUS, [
      sample(stack, "entry 8812: total_cents 1000 != 1100 after balanceOf"),
    ]);
    expect(commits).toEqual([
      expect.objectContaining({
        sha: A,
        score: 0.4,
        reason: 'it changed a line naming "total_cents", which the error message names',
      }),
    ]);
  });

  it("stays bounded and says why on bad input: blame failures, no line numbers, 10,000 frames, huge ranges", async () => {
    const many = Array.from(
      { length: 10_000 },
      (_, i) => `    at f${i} (/app/src/deep.js:${(i % 50) + 1}:1)`,
    );
    const reader = memoryHistory(
      { "src/deep.js": () => BASE, "assets/logo.png": () => BASE },
      { failBlame: ["assets/logo.png"], rangeSize: 400 },
    );
    const stack = [
      "Error: x",
      "    at img (/app/assets/logo.png:3:1)",
      "    at noLine (/app/src/deep.js)",
      "    at lib (/app/node_modules/lib/index.js:3:1)",
      ...many,
    ].join("\n");
    const outcome = await suspectCommitsInRange(reader, RUNNING, PREVIOUS, [sample(stack)]);
    expect(outcome.commits).toEqual([]);
    expect(reader.blamed.length).toBeLessThanOrEqual(8);
    expect(reader.blamed.some((b) => b.startsWith("node_modules/"))).toBe(false);
    expect(outcome.notes).toEqual([
      "the deploy range 0000000..ccccccc holds more than 200 commits; only the newest 200 were considered",
      "could not blame assets/logo.png:3 (fatal: cannot blame binary file assets/logo.png)",
    ]);
  });

  it("rejects what is not a commit SHA without reading anything", async () => {
    const reader = memoryHistory({});
    const outcome = await suspectCommitsInRange(reader, "HEAD; rm -rf /", PREVIOUS, []);
    expect(outcome).toEqual({
      commits: [],
      range: "",
      deploy: false,
      notes: ["not a commit SHA: HEAD; rm -rf /"],
    });
    expect(reader.blamed).toEqual([]);
  });
});

describe("the local history reader", () => {
  const tempDir = useTempDirs();

  it("blames a window of lines and finds the commits that changed a line naming a word, in a real repository", async () => {
    const dir = tempDir();
    const repo = scratchRepo(dir);
    const commit = (subject: string, path: string, text: string) => repo.commit(subject, { [path]: text });
    const base = commit("Base", "src/fx.js", "export const round = (x) => x;\nexport const rate = 1;\n");
    const fx = commit(
      "Round down (LED-19)",
      "src/fx.js",
      "export const round = (x) => Math.floor(x);\nexport const rate = 1;\n",
    );
    const docs = commit("Docs", "README.md", "# ledger\n");
    const reader = localHistory(dir);
    const lines = await reader.blame(docs, "src/fx.js", 1, 40);
    expect(lines.map((l) => [l.line, l.sha, l.subject])).toEqual([
      [1, fx, "Round down (LED-19)"],
      [2, base, "Base"],
    ]);
    expect(await reader.naming?.([docs, fx], "floor")).toEqual([fx]);
    expect(await reader.naming?.([docs], "floor")).toEqual([]);
    expect(await reader.naming?.([], "floor")).toEqual([]);
    await expect(reader.blame(docs, "src/fx.js", 9, 12)).rejects.toThrow(/has only 2 lines/);
  });
});
