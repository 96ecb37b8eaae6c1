import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { OtlpFileSource } from "../../src/telemetry/otlp-file.ts";
import type { SpanSink } from "../../src/telemetry/source.ts";
import type { TelemetrySpan } from "../../src/telemetry/span.ts";
import { UsageError } from "../../src/usage-error.ts";
import { errorSpan, exportRequest, jsonLines } from "../helpers/otlp.ts";
import { useTempDirs } from "../helpers/tmp.ts";

const T0 = Date.parse("2026-11-20T00:00:00Z");
const WINDOW = { sinceMs: T0, untilMs: T0 + 86_400_000 };
const RESOURCE = { "service.name": "api", "build.commit_sha": "a".repeat(40) };

class RecordingSink implements SpanSink {
  spans: TelemetrySpan[] = [];
  commits = new Map<string, number>();
  addSpan(span: TelemetrySpan) {
    this.spans.push(span);
  }
  addAggregate(): void {
    throw new Error("the file source never aggregates");
  }
  noteCommitSeen(sha: string, timeMs: number) {
    this.commits.set(sha, Math.min(timeMs, this.commits.get(sha) ?? Number.POSITIVE_INFINITY));
  }
}

describe("OtlpFileSource", () => {
  const tempDir = useTempDirs();
  const write = (name: string, content: string | Buffer) => {
    const path = join(tempDir(), name);
    writeFileSync(path, content);
    return path;
  };
  const collect = async (path: string) => {
    const source = new OtlpFileSource(path);
    await source.preflight();
    const sink = new RecordingSink();
    const stats = await source.collect(WINDOW, sink);
    return { sink, stats };
  };

  it("passes error spans and agent stop failures inside the window, and nothing else", async () => {
    const path = write(
      "spans.jsonl",
      jsonLines(
        exportRequest(RESOURCE, [
          errorSpan(T0 + 1000, "TypeError", "boom", ""),
          { startMs: T0 + 2000 },
          { startMs: T0 + 3000, attributes: { error: true } },
          {
            startMs: T0 + 4000,
            name: "claude_code.turn.stop_failure",
            status: { code: 2, message: "rate_limit" },
          },
          errorSpan(T0 - 1000, "TypeError", "before the window", ""),
          errorSpan(WINDOW.untilMs, "TypeError", "at the exclusive end", ""),
        ]),
      ),
    );
    const { sink, stats } = await collect(path);
    expect(sink.spans.map((s) => s.startTimeMs - T0)).toEqual([1000, 3000, 4000]);
    expect(stats).toMatchObject({ source: "file", spansRead: 6, spansMatched: 3, skippedLines: 0 });
    // Spans before the window still tell when the commit was first seen.
    expect(sink.commits.get("a".repeat(40))).toBe(T0 - 1000);
  });

  it("reports malformed and truncated lines with their line numbers and carries on", async () => {
    const good = JSON.stringify(exportRequest(RESOURCE, [errorSpan(T0 + 1, "E", "m", "")]));
    const path = write("mixed.jsonl", [good, "", "{not json", "[1,2]", good, good.slice(0, 40)].join("\n"));
    const { sink, stats } = await collect(path);
    expect(sink.spans).toHaveLength(2);
    expect(stats.skippedLines).toBe(3);
    expect(stats.problems.map((p) => p.line)).toEqual([3, 4, 6]);
    expect(stats.problems[0]?.message).toMatch(/malformed line skipped/);
  });

  it("reads an empty file as an empty window", async () => {
    const { sink, stats } = await collect(write("empty.jsonl", ""));
    expect(sink.spans).toEqual([]);
    expect(stats).toMatchObject({ spansRead: 0, skippedLines: 0, problems: [] });
  });

  it("reads gzip-compressed files, detected by content rather than name", async () => {
    const content = jsonLines(exportRequest(RESOURCE, [errorSpan(T0 + 5, "E", "m", "")]));
    const { sink } = await collect(write("spans.data", gzipSync(content)));
    expect(sink.spans).toHaveLength(1);
  });

  it("keeps what it read before a truncated gzip stream ended", async () => {
    const line = JSON.stringify(exportRequest(RESOURCE, [errorSpan(T0 + 5, "E", "m", "x".repeat(2000))]));
    const zipped = gzipSync(`${Array.from({ length: 50 }, () => line).join("\n")}\n`);
    const { sink, stats } = await collect(
      write("cut.jsonl.gz", zipped.subarray(0, Math.floor(zipped.length * 0.6))),
    );
    expect(sink.spans.length).toBeGreaterThan(0);
    expect(sink.spans.length).toBeLessThan(50);
    expect(stats.problems.some((p) => /ended early/.test(p.message))).toBe(true);
  });

  it("refuses protobuf and zstd exporter output before the run starts", async () => {
    const proto = write("spans.pb", Buffer.from([0x00, 0x00, 0x01, 0x0a, 0x12, 0x08]));
    await expect(new OtlpFileSource(proto).preflight()).rejects.toThrow(/format: proto/);
    const zstd = write("spans.zst", Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00]));
    await expect(new OtlpFileSource(zstd).preflight()).rejects.toThrow(/zstd/);
  });

  it("names the path when the input cannot be read", async () => {
    const missing = join(tempDir(), "nope.jsonl");
    await expect(new OtlpFileSource(missing).preflight()).rejects.toBeInstanceOf(UsageError);
    await expect(new OtlpFileSource(missing).preflight()).rejects.toThrow(/nope\.jsonl/);
  });
});
