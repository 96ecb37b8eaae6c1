import type { TelemetrySpan } from "./span.ts";

export type SourceName = "file" | "signoz" | "honeycomb";

export interface TimeWindow {
  sinceMs: number;
  untilMs: number;
}

/** Where a source hands its spans; grouping implements it so sources never depend on grouping. */
export interface SpanSink {
  /** A triage candidate inside the window. */
  addSpan(span: TelemetrySpan): void;
  /** Any span carrying a commit SHA, in or before the window: feeds the "new commit" boost. */
  noteCommitSeen(commitSha: string, timeMs: number): void;
}

export interface SourceProblem {
  line?: number;
  message: string;
}

export interface SourceStats {
  source: SourceName;
  spansRead: number;
  spansMatched: number;
  skippedLines: number;
  problems: SourceProblem[];
  requests: number;
}

export interface TelemetrySource {
  readonly name: SourceName;
  /** Cheap checks that must fail before anything runs (unreadable input, bad credentials). */
  preflight(): Promise<void>;
  collect(window: TimeWindow, sink: SpanSink): Promise<SourceStats>;
}
