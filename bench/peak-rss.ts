/**
 * Preloaded into a CLI run by the benchmark (`node --import`): on exit, writes the process's own
 * peak RSS to the file named by TRACEFIX_BENCH_RSS_FILE. The CLI itself knows nothing of it.
 */
import { writeFileSync } from "node:fs";

const target = process.env.TRACEFIX_BENCH_RSS_FILE;
if (target) {
  process.on("exit", () => {
    writeFileSync(target, JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024 }));
  });
}
