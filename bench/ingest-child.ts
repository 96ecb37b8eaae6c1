/** Runs the OTLP file source over one file in its own process, so peak RSS is this reader's alone. */
import { GroupCollector } from "../src/grouping/collector.ts";
import { OtlpFileSource } from "../src/telemetry/otlp-file.ts";

const path = process.argv[2] ?? "";
const started = performance.now();
const collector = new GroupCollector();
const stats = await new OtlpFileSource(path).collect(
  { sinceMs: Date.parse("2026-11-19T00:00:00Z"), untilMs: Date.parse("2026-11-22T00:00:00Z") },
  collector,
);
const ms = performance.now() - started;
process.stdout.write(
  JSON.stringify({
    ms,
    spansRead: stats.spansRead,
    spansMatched: stats.spansMatched,
    groups: collector.groups().length,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  }),
);
