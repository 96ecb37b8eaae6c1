import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Report, ReportSchema } from "../../src/report/schema.ts";
import { type FakeHoneycomb, startFakeHoneycomb } from "../fakes/honeycomb.ts";
import { type FakeSignoz, startFakeSignoz } from "../fakes/signoz.ts";
import { loadSpans } from "../fakes/span-store.ts";
import { runCli } from "../helpers/cli.ts";
import { exportRequest, jsonLines, type SpanSpec } from "../helpers/otlp.ts";

const SINCE = "2026-11-20T00:00:00Z";
const UNTIL = "2026-11-21T00:00:00Z";
const T0 = Date.parse(SINCE) + 3_600_000;
const COMMIT = "a".repeat(40);

/** An `Error` as Node prints it, with the exception recorded on the span as the OTel SDK does. */
function nodeError(startMs: number, message: string, frames: string[]): SpanSpec {
  const stack = [`Error: ${message}`, ...frames.map((f) => `    at ${f}`)].join("\n");
  return {
    startMs,
    name: "POST /ingest",
    status: { code: 2, message },
    attributes: { "exception.type": "Error", "exception.message": message, "exception.stacktrace": stack },
    events: [
      {
        name: "exception",
        timeMs: startMs,
        attributes: {
          "exception.type": "Error",
          "exception.message": message,
          "exception.stacktrace": stack,
        },
      },
    ],
  };
}

// Two different failures behind one exception type, service and commit. The pool failure is older;
// the newest spans (all any five-sample query would see) are the tenant failure, whose message
// also varies by tenant id (several raw messages, one normalised message).
const POOL = Array.from({ length: 4 }, (_, i) =>
  nodeError(T0 + i * 60_000, "connection pool exhausted", [
    "acquire (/srv/ingest-api/src/db/pool.js:41:11)",
    "handler (/srv/ingest-api/src/routes/ingest.js:18:22)",
  ]),
);
const TENANT = Array.from({ length: 9 }, (_, i) =>
  nodeError(T0 + 3_600_000 + i * 60_000, `invalid tenant header t-${1000 + (i % 3)}`, [
    "parseTenant (/srv/ingest-api/src/auth/tenant.js:9:13)",
    "handler (/srv/ingest-api/src/routes/ingest.js:12:5)",
  ]),
);

function comparable(report: Report) {
  return report.groups
    .map((g) => ({ fingerprint: g.fingerprint, slug: g.slug, count: g.count, firstSeen: g.firstSeen }))
    .sort((a, b) => a.fingerprint.localeCompare(b.fingerprint));
}

describe("two causes sharing an exception type, service and commit", () => {
  let dir = "";
  let signoz: FakeSignoz;
  let honeycomb: FakeHoneycomb;
  const file = () => join(dir, "spans.jsonl");

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tracefix-causes-"));
    writeFileSync(
      file(),
      jsonLines(
        exportRequest({ "service.name": "ingest-api", "build.commit_sha": COMMIT }, [...POOL, ...TENANT]),
      ),
    );
    writeFileSync(
      join(dir, "triage.config.json"),
      JSON.stringify({ telemetry: { timeoutMs: 2_000, retries: 1, maxRetryDelayMs: 20 } }),
    );
    const spans = loadSpans(file());
    signoz = await startFakeSignoz({ apiKey: "sz", spans });
    honeycomb = await startFakeHoneycomb({ apiKey: "hc", dataset: "prod", spans });
  });
  afterAll(async () => {
    await Promise.all([signoz.close(), honeycomb.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (args: string[], env: Record<string, string> = {}) => {
    const result = await runCli(["--since", SINCE, "--until", UNTIL, "--dry-run", "--json", ...args], {
      cwd: dir,
      env,
    });
    expect(result.code, result.stderr).toBe(0);
    return ReportSchema.parse(JSON.parse(result.stdout));
  };

  it("gives both groups, with the file source's counts, through SigNoz and Honeycomb", async () => {
    const fromFile = await run(["--input", file(), "--out", "out-file"]);
    const fromSignoz = await run(["--source", "signoz", "--out", "out-signoz"], {
      SIGNOZ_URL: signoz.url,
      SIGNOZ_API_KEY: "sz",
    });
    const fromHoneycomb = await run(["--source", "honeycomb", "--out", "out-honeycomb"], {
      HONEYCOMB_API_URL: honeycomb.url,
      HONEYCOMB_API_KEY: "hc",
      HONEYCOMB_DATASET: "prod",
    });
    expect(
      comparable(fromFile)
        .map((g) => g.count)
        .sort(),
    ).toEqual([4, 9]);
    expect(comparable(fromSignoz)).toEqual(
      comparable(fromFile).map(({ firstSeen: _, ...g }) => expect.objectContaining(g)),
    );
    expect(comparable(fromHoneycomb)).toEqual(
      comparable(fromFile).map(({ firstSeen: _, ...g }) => expect.objectContaining(g)),
    );
    // Both groups are written under real fingerprints, not provisional ones.
    for (const report of [fromSignoz, fromHoneycomb]) {
      for (const group of report.groups) expect(group.actions[0]?.status).toBe("dry_run");
    }
  });
});
