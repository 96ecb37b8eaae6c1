import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { seeded } from "../test/fakes/server.ts";
import { exportRequest, jsonLines, type SpanSpec } from "../test/helpers/otlp.ts";

/**
 * A night shaped like the one that exposed the memory growth: N groups, 3 spans each, every group
 * on its own commit of one local repository, and every commit a tangled change (the bug plus
 * unrelated edits across several files, tens of KB of diff). Built with `git fast-import` so
 * 1,000 commits take a second, not minutes.
 */
export interface ScaleNight {
  repoDir: string;
  spansFile: string;
  since: string;
  until: string;
}

const FILES_PER_COMMIT = 6;
const LINES_PER_FILE = 120;

export function buildScaleNight(dir: string, groups: number, seed = 7): ScaleNight {
  const random = seeded(seed);
  const repoDir = join(dir, "repo");
  mkdirSync(repoDir, { recursive: true });
  execFileSync("git", ["init", "-q", "-b", "main", repoDir]);
  const when = Date.parse("2026-11-01T00:00:00Z") / 1000;
  const stream: string[] = [];
  const marks: string[] = [];
  for (let c = 0; c < groups; c++) {
    const files: string[] = [];
    for (let f = 0; f < FILES_PER_COMMIT; f++) {
      // Each commit rewrites its own files, so every diff is a real add of LINES_PER_FILE lines.
      const path = `src/main/java/com/acme/m${c}/Part${f}.java`;
      const body = Array.from(
        { length: LINES_PER_FILE },
        (_, i) =>
          `    int value${i} = compute${i}(input, ${Math.floor(random() * 1e6)}); // tenant ${Math.floor(random() * 500)}`,
      ).join("\n");
      files.push(
        `M 100644 inline ${path}\ndata <<EOF\npackage com.acme.m${c};\nclass Part${f} {\n${body}\n}\nEOF\n`,
      );
    }
    const message = `PROJ-${c + 1} change ${c}`;
    stream.push(
      `commit refs/heads/main\nmark :${c + 1}\nauthor Dev <dev@example.invalid> ${when + c * 60} +0000\ncommitter Dev <dev@example.invalid> ${when + c * 60} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n${files.join("")}\n`,
    );
    marks.push(`:${c + 1}`);
  }
  execFileSync("git", ["-C", repoDir, "fast-import", "--quiet", "--export-marks=marks"], {
    input: stream.join(""),
    maxBuffer: 1 << 28,
  });
  const markFile = readFileSync(join(repoDir, "marks"), "utf8");
  const shaOfMark = new Map(
    markFile
      .trim()
      .split("\n")
      .map((l) => l.split(" ") as [string, string]),
  );

  const t0 = Date.parse("2026-11-20T01:00:00Z");
  const lines: string[] = [];
  for (let c = 0; c < groups; c++) {
    const sha = shaOfMark.get(`:${c + 1}`) ?? "";
    const line = 3 + Math.floor(random() * LINES_PER_FILE);
    const stack = [
      `java.lang.IllegalStateException: state ${c} broken`,
      `\tat com.acme.m${c}.Part0.run(Part0.java:${line})`,
      `\tat com.acme.core.Runner.loop(Runner.java:88)`,
      `\tat java.base/java.lang.Thread.run(Thread.java:1583)`,
    ].join("\n");
    const spans: SpanSpec[] = Array.from({ length: 3 }, (_, i) => ({
      startMs: t0 + c * 50 + i,
      status: { code: 2, message: `state ${c} broken` },
      attributes: { "tenant.id": `t${i}`, "http.route": `/jobs/${c}` },
      events: [
        {
          name: "exception",
          timeMs: t0 + c * 50 + i,
          attributes: {
            "exception.type": `com.acme.m${c}.StateError${c}`,
            "exception.message": `state ${c} broken for job ${Math.floor(random() * 1e9)}`,
            "exception.stacktrace": stack,
          },
        },
      ],
    }));
    lines.push(jsonLines(exportRequest({ "service.name": `svc-${c % 10}`, "build.commit_sha": sha }, spans)));
  }
  const spansFile = join(dir, "scale.jsonl");
  writeFileSync(spansFile, lines.join(""));
  return { repoDir, spansFile, since: "2026-11-20T00:00:00Z", until: "2026-11-21T00:00:00Z" };
}
