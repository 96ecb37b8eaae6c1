import type { ErrorGroup } from "../grouping/collector.ts";
import type { TelemetrySource, TimeWindow } from "../telemetry/source.ts";

/**
 * A group kind that error spans do not point at: it reads the sources its own way (aggregates
 * pushed down to the backends) and hands back groups that rank, gather evidence, get analysed
 * and act like any other.
 */
export interface Detector<Summary> {
  readonly name: string;
  detect(input: DetectorInput): Promise<DetectorRun<Summary>>;
}

export interface DetectorInput {
  sources: readonly TelemetrySource[];
  window: TimeWindow;
  /** Progress lines for stderr. */
  info: (line: string) => void;
  /** Commits the detector saw running, and when: feeds the "new commit" boost in ranking. */
  noteCommitSeen: (commitSha: string, timeMs: number, service?: string) => void;
}

export interface DetectorRun<Summary> {
  groups: ErrorGroup[];
  summary: Summary;
}
