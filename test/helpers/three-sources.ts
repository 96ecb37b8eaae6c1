import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Report, ReportSchema } from "../../src/report/schema.ts";
import type { TelemetrySpan } from "../../src/telemetry/span.ts";
import { type FakeHoneycomb, startFakeHoneycomb } from "../fakes/honeycomb.ts";
import { type FakeSignoz, startFakeSignoz } from "../fakes/signoz.ts";
import { type CliRun, runCli } from "./cli.ts";
import { toJsonLines } from "./cost-spans.ts";

export interface ThreeSources {
  dir: string;
  signoz: FakeSignoz;
  honeycomb: FakeHoneycomb;
  /** Runs the CLI (dry run, --json) over the file, SigNoz or Honeycomb holding the same spans. */
  run(source: "file" | "signoz" | "honeycomb", out: string): Promise<CliRun & { report: Report }>;
  close(): Promise<void>;
}

/** The same spans in an OTLP file, a fake SigNoz and a fake Honeycomb, for agreement tests. */
export async function threeSources(
  spans: TelemetrySpan[],
  window: { sinceMs: number; untilMs: number },
): Promise<ThreeSources> {
  const dir = mkdtempSync(join(tmpdir(), "tracefix-sources-"));
  writeFileSync(join(dir, "spans.jsonl"), toJsonLines(spans));
  writeFileSync(
    join(dir, "triage.config.json"),
    JSON.stringify({ telemetry: { timeoutMs: 3_000, retries: 1, maxRetryDelayMs: 20 } }),
  );
  const signoz = await startFakeSignoz({ apiKey: "sz", spans });
  const honeycomb = await startFakeHoneycomb({ apiKey: "hc", dataset: "prod", spans });
  const args = [
    "--since",
    new Date(window.sinceMs).toISOString(),
    "--until",
    new Date(window.untilMs).toISOString(),
    "--dry-run",
    "--json",
  ];
  const env = {
    file: {},
    signoz: { SIGNOZ_URL: signoz.url, SIGNOZ_API_KEY: "sz" },
    honeycomb: { HONEYCOMB_API_URL: honeycomb.url, HONEYCOMB_API_KEY: "hc", HONEYCOMB_DATASET: "prod" },
  };
  return {
    dir,
    signoz,
    honeycomb,
    run: async (source, out) => {
      const pick = source === "file" ? ["--input", join(dir, "spans.jsonl")] : ["--source", source];
      const result = await runCli([...args, ...pick, "--out", out], { cwd: dir, env: env[source] });
      return { ...result, report: ReportSchema.parse(JSON.parse(result.stdout)) };
    },
    close: async () => {
      await Promise.all([signoz.close(), honeycomb.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
