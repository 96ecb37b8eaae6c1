import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { UsageError } from "../usage-error.ts";
import { commitShaOf, isTriageCandidate, serviceNameOf } from "./conventions.ts";
import { CountFolder, MetricCellFolder } from "./metric-cells.ts";
import { decodeExportRequest } from "./otlp-json.ts";
import type {
  CountQuery,
  CountResult,
  MetricQuery,
  MetricResult,
  SourceStats,
  SpanSink,
  TelemetrySource,
  TimeWindow,
} from "./source.ts";
import type { TelemetrySpan } from "./span.ts";

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
// Beyond this many, problems are counted but not listed: a corrupt GB file must not bloat the report.
const MAX_LISTED_PROBLEMS = 20;

/**
 * Reads the OTel Collector `file` exporter's JSON Lines output (plain or gzip), streaming line by
 * line so memory follows the number of groups, not the size of the file.
 */
export class OtlpFileSource implements TelemetrySource {
  readonly name = "file" as const;
  readonly checks = "that --input names the Collector file exporter's output";
  private readonly path: string;
  private readonly waiting: Array<{
    visit: (span: TelemetrySpan) => void;
    resolve: () => void;
    reject: (error: unknown) => void;
  }> = [];
  /** Streaming passes made by measure() and countBy(); the benchmark and tests read it. */
  passes = 0;

  constructor(path: string) {
    this.path = path;
  }

  get location(): string {
    return this.path;
  }

  async preflight(): Promise<void> {
    const head = await readHead(this.path);
    if (startsWith(head, ZSTD_MAGIC)) {
      throw new UsageError(
        `--input ${this.path}: zstd-compressed exporter output is not supported; configure the file exporter with compression: gzip or none`,
      );
    }
    const text = startsWith(head, GZIP_MAGIC) ? null : head;
    if (text && text.length > 0 && !looksLikeJsonLines(text)) {
      if (looksLikeText(text)) {
        const first = text.toString("utf8").split(/\r?\n/)[0]?.slice(0, 40) ?? "";
        throw new UsageError(
          `--input ${this.path}: a text file, but not OTLP/JSON lines (it starts with "${first}"); pass the OTel Collector file exporter's output`,
        );
      }
      throw new UsageError(
        `--input ${this.path}: not OTLP/JSON lines (binary data; is the file exporter set to format: proto?). Use format: json`,
      );
    }
  }

  async collect(window: TimeWindow, sink: SpanSink): Promise<SourceStats> {
    const stats: SourceStats = {
      source: "file",
      spansRead: 0,
      spansMatched: 0,
      skippedLines: 0,
      problems: [],
      requests: 0,
      location: this.path,
      notTraceLines: 0,
      spansOutsideWindow: 0,
    };
    const range = { first: Number.POSITIVE_INFINITY, last: Number.NEGATIVE_INFINITY };
    const head = await readHead(this.path);
    const file = createReadStream(this.path);
    const input: Readable = startsWith(head, GZIP_MAGIC) ? file.pipe(createGunzip()) : file;
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    let lineNumber = 0;
    try {
      for await (const line of lines) {
        lineNumber += 1;
        if (line.trim() === "") continue;
        let spans: ReturnType<typeof decodeExportRequest>;
        try {
          const payload = JSON.parse(line) as unknown;
          spans = decodeExportRequest(payload);
          if (spans.length === 0 && !hasResourceSpans(payload))
            stats.notTraceLines = (stats.notTraceLines ?? 0) + 1;
        } catch (error) {
          stats.skippedLines += 1;
          if (stats.problems.length < MAX_LISTED_PROBLEMS) {
            stats.problems.push({ line: lineNumber, message: `malformed line skipped: ${describe(error)}` });
          }
          continue;
        }
        for (const span of spans) {
          range.first = Math.min(range.first, span.startTimeMs);
          range.last = Math.max(range.last, span.startTimeMs);
          this.route(span, window, sink, stats);
        }
      }
    } catch (error) {
      // A truncated .gz fails mid-stream; what was read before that still counts.
      stats.problems.push({ line: lineNumber + 1, message: `input ended early: ${describe(error)}` });
    } finally {
      file.destroy();
    }
    if (Number.isFinite(range.first) && Number.isFinite(range.last)) {
      stats.timeRange = { first: isoOrRaw(range.first), last: isoOrRaw(range.last) };
    }
    return stats;
  }

  /** A second streaming pass that folds the metric into cells, as a backend would aggregate it. */
  async measure(query: MetricQuery): Promise<MetricResult> {
    const folder = new MetricCellFolder(query);
    await this.eachSpan((span) => folder.add(span));
    return { cells: folder.result(), notNumeric: folder.notNumeric, requests: 0, problems: [] };
  }

  async countBy(query: CountQuery): Promise<CountResult> {
    const folder = new CountFolder(query);
    await this.eachSpan((span) => folder.add(span));
    return { rows: folder.result(), requests: 0, truncated: false };
  }

  /** Streams every decodable span; malformed lines are counted and listed by collect(). */
  private eachSpan(visit: (span: TelemetrySpan) => void): Promise<void> {
    // Queries asked for together share one pass: a GB file is read once for all of them.
    return new Promise((resolve, reject) => {
      this.waiting.push({ visit, resolve, reject });
      if (this.waiting.length === 1) setImmediate(() => this.pass());
    });
  }

  private async pass(): Promise<void> {
    const batch = this.waiting.splice(0);
    this.passes += 1;
    try {
      await this.streamSpans((span) => {
        for (const reader of batch) reader.visit(span);
      });
      for (const reader of batch) reader.resolve();
    } catch (error) {
      for (const reader of batch) reader.reject(error);
    }
  }

  private async streamSpans(visit: (span: TelemetrySpan) => void): Promise<void> {
    const head = await readHead(this.path);
    const file = createReadStream(this.path);
    const input: Readable = startsWith(head, GZIP_MAGIC) ? file.pipe(createGunzip()) : file;
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    try {
      for await (const line of lines) {
        if (line.trim() === "") continue;
        let spans: TelemetrySpan[];
        try {
          spans = decodeExportRequest(JSON.parse(line) as unknown);
        } catch {
          continue;
        }
        for (const span of spans) visit(span);
      }
    } catch {
      // A truncated .gz: collect() reports it; what was read still counts.
    } finally {
      file.destroy();
    }
  }

  private route(span: TelemetrySpan, window: TimeWindow, sink: SpanSink, stats: SourceStats): void {
    stats.spansRead += 1;
    const sha = commitShaOf(span);
    if (sha && span.startTimeMs < window.untilMs)
      sink.noteCommitSeen(sha, span.startTimeMs, serviceNameOf(span));
    if (span.startTimeMs < window.sinceMs || span.startTimeMs >= window.untilMs) {
      stats.spansOutsideWindow = (stats.spansOutsideWindow ?? 0) + 1;
      return;
    }
    if (!isTriageCandidate(span)) return;
    stats.spansMatched += 1;
    sink.addSpan(span);
  }
}

async function readHead(path: string): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw new UsageError(`--input ${path}: cannot read the file (${describe(error)})`);
  }
  try {
    const buffer = Buffer.alloc(64);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function startsWith(buffer: Buffer, magic: number[]): boolean {
  return magic.every((byte, i) => buffer[i] === byte);
}

/** JSON Lines start with `{` after optional whitespace/BOM; proto records start with a length prefix. */
function looksLikeJsonLines(head: Buffer): boolean {
  const text = head
    .toString("utf8")
    .replace(/^\uFEFF/, "")
    .trimStart();
  return text === "" || text.startsWith("{");
}

function hasResourceSpans(payload: unknown): boolean {
  return typeof payload === "object" && payload !== null && "resourceSpans" in payload;
}

/** Span times come from telemetry: a nonsense timestamp is shown as a number, not a crash. */
function isoOrRaw(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

/** Printable UTF-8 with no NUL: a log or CSV someone passed by mistake, not a proto dump. */
function looksLikeText(head: Buffer): boolean {
  if (head.includes(0)) return false;
  const text = head.toString("utf8");
  // Allow a character cut in half at the end of the 64-byte head.
  if (/\uFFFD./s.test(text)) return false;
  // Control characters other than tab, newline and carriage return mark binary data.
  return ![...text].some((c) => {
    const code = c.charCodeAt(0);
    return code < 32 && code !== 9 && code !== 10 && code !== 13;
  });
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 160 ? `${message.slice(0, 160)}…` : message;
}
