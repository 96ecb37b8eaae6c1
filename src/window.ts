import type { TimeWindow } from "./telemetry/source.ts";
import { UsageError } from "./usage-error.ts";

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const ISO_PREFIX = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** `--since 30m|24h|7d|<ISO>` and `--until now|<ISO>` → a window in Unix ms. */
export function parseWindow(since: string, until: string, now: Date): TimeWindow {
  const untilMs = until === "now" ? now.getTime() : parseIso("--until", until, "now or an ISO timestamp");
  const duration = /^(\d+)([mhd])$/.exec(since);
  const sinceMs = duration
    ? untilMs - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS]
    : parseIso("--since", since, "a duration like 30m, 24h, 7d or an ISO timestamp");
  if (sinceMs >= untilMs) {
    throw new UsageError(
      `--since (${new Date(sinceMs).toISOString()}) must be before --until (${new Date(untilMs).toISOString()})`,
    );
  }
  return { sinceMs, untilMs };
}

function parseIso(flag: string, value: string, expected: string): number {
  const ms = ISO_PREFIX.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`${flag}: expected ${expected}, got '${value}'`);
  return ms;
}
