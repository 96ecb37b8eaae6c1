import { CountFolder, MetricCellFolder } from "../../src/telemetry/metric-cells.ts";
import type { CountQuery, MetricQuery, TelemetrySource } from "../../src/telemetry/source.ts";
import { StatusCode, type TelemetrySpan } from "../../src/telemetry/span.ts";
import { seeded } from "../fakes/server.ts";

export { seeded };

/** A standard normal draw (Box–Muller). */
export function gaussian(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

export interface CommitRun {
  sha: string;
  fromMs: number;
  untilMs: number;
  /** Spans of the operation on this commit, spread evenly over its run. */
  spans: number;
  /** Bytes per record multiplier against 1 (1.5 = a 1.5× regression). */
  perUnit: number;
  /** Records per span multiplier (2 = twice the volume, same cost per record). */
  volume?: number;
  /** Per-unit drift: factor reached at the end of the commit's run, from 1 at its start. */
  drift?: number;
  issueKey?: string;
}

export interface CostScenario {
  service?: string;
  operation?: string;
  tenants: Record<string, number>;
  /** Log-normal noise of bytes per record, per span (0.3 ≈ ±30 %). */
  sigma: number;
  commits: CommitRun[];
  seed: number;
  /** Attributes to drop or spoil on some spans, for bad-input tests. */
  spoil?: (span: TelemetrySpan, index: number) => void;
}

const BYTES_PER_RECORD = 40_000;

/** Spans of an ETL-like operation: tenant, records, bytes scanned and query cost, with no error. */
export function costSpans(scenario: CostScenario): TelemetrySpan[] {
  const rnd = seeded(scenario.seed);
  const tenants = Object.entries(scenario.tenants);
  const spans: TelemetrySpan[] = [];
  let index = 0;
  for (const run of scenario.commits) {
    const step = (run.untilMs - run.fromMs) / run.spans;
    for (let i = 0; i < run.spans; i++) {
      const [tenant, size] = tenants[i % tenants.length] as [string, number];
      const at = Math.floor(run.fromMs + i * step);
      const progress = (at - run.fromMs) / Math.max(1, run.untilMs - run.fromMs);
      const drift = (run.drift ?? 1) ** progress;
      const records = Math.max(1, Math.round(size * (run.volume ?? 1) * (0.7 + 0.6 * rnd())));
      const perRecord = BYTES_PER_RECORD * run.perUnit * drift * Math.exp(scenario.sigma * gaussian(rnd));
      const bytes = Math.round(records * perRecord);
      const span: TelemetrySpan = {
        traceId: (index + 1).toString(16).padStart(32, "0"),
        spanId: (index + 1).toString(16).padStart(16, "0"),
        parentSpanId: "",
        name: scenario.operation ?? "export_usage",
        kind: 1,
        startTimeMs: at,
        endTimeMs: at + 200 + Math.round(bytes / 1e7),
        status: { code: StatusCode.Unset, message: "" },
        attributes: {
          "tenant.id": tenant,
          "billing.record_count": records,
          "s3.bytes_scanned": bytes,
          "athena.query_cost": (bytes / 1e12) * 5,
          "code.function": "exportUsage",
          "code.filepath": "etl/usage-export.js",
        },
        resource: {
          "service.name": scenario.service ?? "usage-export",
          "build.commit_sha": run.sha,
          ...(run.issueKey ? { "work_tracker.issue_id": run.issueKey } : {}),
        },
        scope: "test",
        events: [],
      };
      scenario.spoil?.(span, index);
      spans.push(span);
      index += 1;
    }
  }
  return spans;
}

/** The spans as one OTLP/JSON line per span, as the Collector's file exporter writes them. */
export function toJsonLines(spans: readonly TelemetrySpan[]): string {
  const value = (v: unknown) =>
    typeof v === "string"
      ? { stringValue: v }
      : typeof v === "number"
        ? Number.isInteger(v)
          ? { intValue: String(v) }
          : { doubleValue: v }
        : { boolValue: Boolean(v) };
  const attrs = (record: Record<string, unknown>) =>
    Object.entries(record).map(([key, v]) => ({ key, value: value(v) }));
  return `${spans
    .map((s) =>
      JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: attrs(s.resource) },
            scopeSpans: [
              {
                scope: { name: s.scope },
                spans: [
                  {
                    traceId: s.traceId,
                    spanId: s.spanId,
                    name: s.name,
                    kind: s.kind,
                    startTimeUnixNano: `${BigInt(s.startTimeMs) * 1_000_000n}`,
                    endTimeUnixNano: `${BigInt(s.endTimeMs) * 1_000_000n}`,
                    attributes: attrs(s.attributes),
                  },
                ],
              },
            ],
          },
        ],
      }),
    )
    .join("\n")}\n`;
}

/** A source over spans in memory, folding them into cells exactly as the file source does. */
export function memorySource(spans: readonly TelemetrySpan[], failing = false): TelemetrySource {
  return {
    name: "file",
    location: "memory",
    checks: "",
    preflight: async () => undefined,
    collect: async () => {
      throw new Error("memorySource only measures");
    },
    measure: async (query: MetricQuery) => {
      if (failing) throw new Error("backend down");
      const folder = new MetricCellFolder(query);
      for (const span of spans) folder.add(span);
      return { cells: folder.result(), notNumeric: folder.notNumeric, requests: 1, problems: [] };
    },
    countBy: async (query: CountQuery) => {
      if (failing) throw new Error("backend down");
      const folder = new CountFolder(query);
      for (const span of spans) folder.add(span);
      return { rows: folder.result(), requests: 1, truncated: false };
    },
  };
}
