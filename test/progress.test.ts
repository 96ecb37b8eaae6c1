import { describe, expect, it } from "vitest";
import { createProgress } from "../src/progress.ts";

function capture(options: { quiet?: boolean; verbose?: boolean; tty?: boolean }) {
  const chunks: string[] = [];
  const progress = createProgress({ quiet: false, verbose: false, tty: false, ...options }, (c) =>
    chunks.push(c),
  );
  return { progress, out: () => chunks.join("") };
}

describe("progress on stderr", () => {
  it("prints one line per group in CI logs", () => {
    const { progress, out } = capture({ tty: false });
    progress.info("querying file");
    progress.group(1, 2, "a");
    progress.group(2, 2, "b");
    expect(out()).toBe("triage: querying file\ntriage: [1/2] a\ntriage: [2/2] b\n");
  });

  it("rewrites one line on a terminal and ends it after the last group", () => {
    const { progress, out } = capture({ tty: true });
    progress.group(1, 2, "a");
    progress.warn("slow");
    progress.group(2, 2, "b");
    expect(out()).toBe("\r\u001b[Ktriage: [1/2] a\ntriage: warning: slow\n\r\u001b[Ktriage: [2/2] b\n");
  });

  it("stays quiet with --json except for warnings", () => {
    const { progress, out } = capture({ quiet: true, verbose: true });
    progress.info("x");
    progress.detail("y");
    progress.group(1, 1, "z");
    progress.warn("w");
    expect(out()).toBe("triage: warning: w\n");
  });
});
