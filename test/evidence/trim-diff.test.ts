import { describe, expect, it } from "vitest";
import { parseUnifiedDiff } from "../../src/evidence/diff.ts";
import { estimateTokens, trimDiffForAnalysis } from "../../src/evidence/trim-diff.ts";

function fileDiff(path: string, hunks: Array<{ start: number; lines: number }>): string {
  const body = hunks
    .map(({ start, lines }) => {
      const added = Array.from({ length: lines }, (_, i) => `+const line${start + i} = "${"x".repeat(60)}";`);
      return `@@ -${start},0 +${start},${lines} @@\n${added.join("\n")}`;
    })
    .join("\n");
  return `diff --git a/${path} b/${path}\n--- a/${path}\n+++ b/${path}\n${body}\n`;
}

describe("trimDiffForAnalysis", () => {
  it("keeps the whole diff when it fits", () => {
    const files = parseUnifiedDiff(fileDiff("src/a.js", [{ start: 1, lines: 3 }]));
    const trimmed = trimDiffForAnalysis(files, [], 12_000);
    expect(trimmed.omitted).toEqual([]);
    expect(parseUnifiedDiff(trimmed.text)[0]?.hunks[0]?.addedLines).toEqual([1, 2, 3]);
  });

  it("keeps the suspect hunk whole and says what it left out of a 2 MB diff", () => {
    const noise = Array.from({ length: 400 }, (_, i) =>
      fileDiff(`gen/file${i}.js`, [{ start: 1, lines: 70 }]),
    ).join("");
    const suspect = fileDiff("src/pricing.js", [
      { start: 10, lines: 40 },
      { start: 500, lines: 5 },
    ]);
    const text = noise + suspect;
    expect(text.length).toBeGreaterThan(2_000_000);
    const files = parseUnifiedDiff(text);
    const trimmed = trimDiffForAnalysis(
      files,
      [{ commitSha: "c", path: "src/pricing.js", line: 30, score: 1, reason: "r" }],
      12_000,
    );
    expect(trimmed.estimatedTokens).toBeLessThanOrEqual(12_000);
    expect(estimateTokens(trimmed.text)).toBe(trimmed.estimatedTokens);
    const kept = parseUnifiedDiff(trimmed.text);
    const pricing = kept.find((f) => f.path === "src/pricing.js");
    expect(pricing?.hunks[0]?.addedLines).toHaveLength(40);
    expect(trimmed.omitted.some((o) => /file\(s\) omitted entirely: gen\/file/.test(o))).toBe(true);
  });

  it("cuts a suspect hunk larger than the budget around the suspect line instead of dropping it", () => {
    const files = parseUnifiedDiff(fileDiff("src/huge.js", [{ start: 1, lines: 5_000 }]));
    const trimmed = trimDiffForAnalysis(
      files,
      [{ commitSha: "c", path: "src/huge.js", line: 2_500, score: 1, reason: "r" }],
      12_000,
    );
    expect(trimmed.text).toContain("const line2500 =");
    expect(trimmed.omitted[0]).toMatch(/src\/huge\.js: suspect hunk @@ \+1 cut to 160 of 5000 lines/);
    expect(trimmed.estimatedTokens).toBeLessThanOrEqual(12_000);
  });

  it("notes binary files, which have no text to show", () => {
    const files = parseUnifiedDiff(
      "diff --git a/logo.png b/logo.png\nindex 1..2 100644\nBinary files a/logo.png and b/logo.png differ\n",
    );
    expect(trimDiffForAnalysis(files, [], 1_000).omitted).toEqual(["logo.png: binary file, no text diff"]);
  });
});
