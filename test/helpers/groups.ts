import { GroupCollector } from "../../src/grouping/collector.ts";
import { type RankedGroup, rankGroups } from "../../src/grouping/rank.ts";
import type { TelemetrySpan } from "../../src/telemetry/span.ts";

/** Runs spans through the real collector and ranking, as the pipeline does. */
export function rankedGroupsOf(spans: TelemetrySpan[]): RankedGroup[] {
  const collector = new GroupCollector();
  for (const s of spans) collector.addSpan(s);
  const t = spans.map((s) => s.startTimeMs);
  return rankGroups(
    collector.groups(),
    { sinceMs: Math.min(...t), untilMs: Math.max(...t) + 1 },
    () => undefined,
  );
}
