/**
 * Records fixtures/demo/telemetry.jsonl by really running the demo billing service (its code at
 * each deployed commit of the demo history) under the OpenTelemetry JS SDK, plus coding-agent
 * turns shaped like the Claude Code hook spans. Run once; the output is committed.
 *
 *   node scripts/record-demo-telemetry.ts
 *
 * The clock is simulated (explicit span start/end times) so a day and a half of traffic takes a
 * second, and the data sits at fixed dates the demo's window points at. Traffic is drawn from a
 * seeded PRNG so a re-recording has the same shape. Stack paths are rewritten from the temporary
 * checkout to the service's deploy path, and frames of this harness are cut, as a real server's
 * stack would end in its framework.
 */

import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  type IdGenerator,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { buildDemoRepo, DEMO_DIR, readDemoManifest } from "./demo-repo.ts";

const DEPLOY_PATH = "/srv/billing-service";
const TRAFFIC_START = Date.parse("2026-11-19T00:00:00Z");
const TRAFFIC_END = Date.parse("2026-11-21T00:00:00Z");
const REQUESTS_PER_HOUR = 10;
const SPANS_PER_LINE = 25;

type Handle = (request: Record<string, unknown>) => unknown;
type Random = () => number;

function seeded(seed: number): Random {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Trace and root span ids derived from the session and turn, as the Claude Code hooks do. */
class TurnIdGenerator implements IdGenerator {
  private pendingRoot: { traceId: string; spanId: string } | null = null;
  startTurn(sessionId: string, turnId: string): void {
    const digest = createHash("sha256").update(`${sessionId}:${turnId}`).digest("hex");
    this.pendingRoot = { traceId: digest.slice(0, 32), spanId: digest.slice(32, 48) };
  }
  generateTraceId(): string {
    return this.pendingRoot?.traceId ?? randomBytes(16).toString("hex");
  }
  generateSpanId(): string {
    const root = this.pendingRoot;
    this.pendingRoot = null;
    return root?.spanId ?? randomBytes(8).toString("hex");
  }
}

function serialize(spans: ReadableSpan[]): string {
  const bytes = JsonTraceSerializer.serializeRequest(spans);
  if (!bytes) throw new Error("serializer returned nothing");
  return Buffer.from(bytes).toString("utf8");
}

function provider(attributes: Record<string, string>, idGenerator?: IdGenerator) {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({
    resource: resourceFromAttributes(attributes),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
    ...(idGenerator ? { idGenerator } : {}),
  });
  return { exporter, tracerProvider };
}

function cleanStack(stack: string, checkout: string): string {
  return stack
    .split("\n")
    .filter((line) => !line.includes("record-demo-telemetry") && !line.includes("node:internal"))
    .map((line) =>
      line.replaceAll(pathToFileURL(checkout).href, DEPLOY_PATH).replaceAll(checkout, DEPLOY_PATH),
    )
    .join("\n");
}

/** What an HTTP server instrumentation would record for one request. */
function serve(
  tracer: Tracer,
  handle: Handle,
  checkout: string,
  request: Record<string, unknown>,
  at: number,
  rnd: Random,
) {
  const op = String(request.op);
  const span = tracer.startSpan(`POST /${op.replace(".", "/")}`, {
    kind: SpanKind.SERVER,
    startTime: at,
    attributes: {
      "http.request.method": "POST",
      "http.route": `/${op.replace(".", "/")}`,
      "tenant.id": String(request.tenant),
    },
  });
  const duration = 5 + Math.floor(rnd() * 80);
  try {
    handle(request);
    span.setAttribute("http.response.status_code", 200);
  } catch (caught) {
    const error = caught as Error;
    const stack = cleanStack(error.stack ?? "", checkout);
    span.recordException({ name: error.name, message: error.message, stack }, at + duration);
    // The seed's convention also puts the exception on the span itself.
    span.setAttributes({
      error: true,
      "exception.type": error.name,
      "exception.message": error.message,
      "exception.stacktrace": stack,
      "http.response.status_code": 500,
    });
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
  span.end(at + duration);
}

function randomRequest(rnd: Random, knownInvoices: string[]): Record<string, unknown> {
  const tenant = 1 + Math.floor(rnd() * 400);
  const roll = rnd();
  if (roll < 0.4) {
    const c = rnd();
    const customer =
      c < 0.45
        ? { id: `cus_${tenant}` }
        : c < 0.7
          ? { id: `cus_${tenant}`, discount: { percent: 10 } }
          : c < 0.85
            ? { id: `cus_${tenant}`, discountCode: "VIP20", discounts: { VIP20: { percent: 20 } } }
            : // Customers migrated before discount codes existed carry a code but no discounts map.
              { id: `cus_${tenant}`, discountCode: rnd() < 0.5 ? "SPRING10" : "WELCOME5" };
    const invoice = {
      id: `inv_${randomBytes(4).toString("hex")}`,
      lines: [{ sku: "seat", unitCents: 1200, quantity: 1 + Math.floor(rnd() * 9) }],
    };
    return { op: "invoice.create", tenant, customer, invoice };
  }
  if (roll < 0.7) {
    const missing = rnd() < 0.15;
    const id = missing
      ? `inv_${randomBytes(4).toString("hex")}`
      : (knownInvoices[Math.floor(rnd() * knownInvoices.length)] ?? "inv_0");
    return { op: "invoice.get", tenant: missing ? tenant : 7, id };
  }
  if (roll < 0.8) return { op: "invoice.render", tenant: 7, id: knownInvoices[0] };
  const latencyMs = rnd() < 0.08 ? 3001 + Math.floor(rnd() * 900) : 40 + Math.floor(rnd() * 400);
  return { op: "payment.charge", tenant, amountCents: 1000 + Math.floor(rnd() * 50000), latencyMs };
}

async function recordBillingService(work: string, shas: string[]): Promise<string[]> {
  const manifest = readDemoManifest();
  const rnd = seeded(20261120);
  const deployments = await Promise.all(
    manifest.commits.map(async (commit, index) => {
      if (!commit.deployedAt || (commit.service ?? manifest.service) !== manifest.service) return null;
      const sha = shas[index] ?? "";
      const checkout = join(work, `checkout-${index}`);
      execFileSync("git", ["-C", join(work, "repo"), "worktree", "add", "-q", "--detach", checkout, sha]);
      const handlers = (await import(pathToFileURL(join(checkout, "src/handlers.js")).href)) as {
        handle: Handle;
      };
      const store = (await import(pathToFileURL(join(checkout, "src/store.js")).href)) as {
        saveInvoice: (tenant: number, invoice: unknown) => void;
      };
      const known = ["inv_1001", "inv_1002", "inv_1003"];
      for (const id of known) store.saveInvoice(7, { id, lines: [{ sku: "seat", quantity: 2 }] });
      const version = JSON.parse(
        execFileSync("git", ["-C", checkout, "show", "HEAD:package.json"], { encoding: "utf8" }),
      ) as { version: string };
      const { exporter, tracerProvider } = provider({
        "service.name": manifest.service,
        "service.version": version.version,
        "build.commit_sha": sha,
        "deploy.environment": "prod",
        "vcs.repository.url.full": manifest.repository,
        ...(commit.subject.includes("BILL-142") ? { "work_tracker.issue_id": "BILL-142" } : {}),
      });
      return { from: Date.parse(commit.deployedAt), checkout, handlers, known, exporter, tracerProvider };
    }),
  );
  const live = deployments.filter((d) => d !== null);
  for (let hour = TRAFFIC_START; hour < TRAFFIC_END; hour += 3_600_000) {
    const minutes = Array.from({ length: REQUESTS_PER_HOUR }, () => Math.floor(rnd() * 3_600_000)).sort(
      (a, b) => a - b,
    );
    for (const offset of minutes) {
      const at = hour + offset;
      const deployment = live.filter((d) => d.from <= at).at(-1);
      if (!deployment) continue;
      const tracer = deployment.tracerProvider.getTracer("@acme/http-server", "2.1.0");
      serve(
        tracer,
        deployment.handlers.handle,
        deployment.checkout,
        randomRequest(rnd, deployment.known),
        at,
        rnd,
      );
    }
  }
  const lines: string[] = [];
  for (const deployment of live) {
    await deployment.tracerProvider.forceFlush();
    const spans = deployment.exporter.getFinishedSpans();
    for (let i = 0; i < spans.length; i += SPANS_PER_LINE)
      lines.push(serialize(spans.slice(i, i + SPANS_PER_LINE)));
  }
  return lines;
}

interface Turn {
  at: number;
  session: string;
  turn: number;
  failure?: string;
  tools: string[];
  /** Tools the session asked for and was refused (claude_code.permission.denied, status ERROR). */
  denied?: string[];
  /** The session's environment adds the work item (OTEL_RESOURCE_ATTRIBUTES=work_tracker.issue_id=…). */
  issue?: string;
}

/** Coding-agent turns: each hook process exports its own span, children before the turn root. */
async function recordAgentTurns(): Promise<string[]> {
  const ids = new TurnIdGenerator();
  const { exporter, tracerProvider } = provider(
    { "service.name": "claude-code", "gen_ai.system": "anthropic" },
    ids,
  );
  const turns: Turn[] = [
    { at: Date.parse("2026-11-20T01:10:00Z"), session: "s-7f3a", turn: 1, tools: ["Read", "Grep"] },
    {
      at: Date.parse("2026-11-20T01:25:00Z"),
      session: "s-7f3a",
      turn: 2,
      failure: "rate_limit",
      tools: ["Read"],
    },
    { at: Date.parse("2026-11-20T01:41:00Z"), session: "s-7f3a", turn: 3, failure: "rate_limit", tools: [] },
    {
      at: Date.parse("2026-11-20T02:05:00Z"),
      session: "s-91c2",
      turn: 1,
      failure: "rate_limit",
      tools: ["Read", "Edit"],
    },
    { at: Date.parse("2026-11-20T02:30:00Z"), session: "s-91c2", turn: 2, tools: ["Bash", "Edit"] },
    {
      at: Date.parse("2026-11-20T09:12:00Z"),
      session: "s-c044",
      turn: 1,
      failure: "rate_limit",
      tools: ["Read"],
    },
    {
      at: Date.parse("2026-11-20T14:48:00Z"),
      session: "s-c044",
      turn: 4,
      failure: "max_output_tokens",
      tools: ["Write"],
    },
    { at: Date.parse("2026-11-20T15:02:00Z"), session: "s-c044", turn: 5, tools: ["Read", "Edit", "Bash"] },
    // The session that wrote the usage export's BILL-152 change (commit authored 15:40).
    {
      at: Date.parse("2026-11-20T15:05:00Z"),
      session: "s-e152",
      turn: 1,
      tools: ["Read", "Grep", "Read"],
      issue: "BILL-152",
    },
    {
      at: Date.parse("2026-11-20T15:18:00Z"),
      session: "s-e152",
      turn: 2,
      tools: ["Edit", "Bash"],
      issue: "BILL-152",
    },
    {
      at: Date.parse("2026-11-20T15:31:00Z"),
      session: "s-e152",
      turn: 3,
      tools: ["Bash", "Read"],
      issue: "BILL-152",
    },
    // A session that keeps asking to run a shell tool it may not use.
    {
      at: Date.parse("2026-11-20T19:02:00Z"),
      session: "s-d7a1",
      turn: 1,
      tools: ["Read"],
      denied: ["Bash", "Bash"],
    },
    {
      at: Date.parse("2026-11-20T19:14:00Z"),
      session: "s-d7a1",
      turn: 2,
      tools: ["Read"],
      denied: ["Bash", "Bash"],
    },
  ];
  const lines: string[] = [];
  const withIssue = new Map<string, ReturnType<typeof provider>>();
  for (const t of turns) {
    const sessionProvider = t.issue
      ? (withIssue.get(t.issue) ??
        withIssue
          .set(
            t.issue,
            provider(
              {
                "service.name": "claude-code",
                "gen_ai.system": "anthropic",
                "work_tracker.issue_id": t.issue,
              },
              ids,
            ),
          )
          .get(t.issue))
      : undefined;
    const tracer = (sessionProvider?.tracerProvider ?? tracerProvider).getTracer("claude_code_hooks");
    const common = {
      "session.id": t.session,
      "turn.id": String(t.turn),
      cwd: "/home/dana/src/billing-service",
      "git.repo": "acme/billing-service",
      "git.origin": "git@github.com:acme/billing-service.git",
    };
    ids.startTurn(t.session, String(t.turn));
    const root: Span = tracer.startSpan(
      t.failure ? "claude_code.turn.stop_failure" : "claude_code.turn.stop",
      {
        kind: SpanKind.INTERNAL,
        startTime: t.at,
        attributes: {
          ...common,
          "gen_ai.operation.name": "chat",
          "gen_ai.request.model": "claude-sonnet-5-5",
        },
      },
    );
    const ctx = trace.setSpan(context.active(), root);
    let clock = t.at + 2_000;
    for (const tool of t.tools) {
      const span = tracer.startSpan(
        "claude_code.tool",
        {
          startTime: clock,
          attributes: {
            ...common,
            "gen_ai.operation.name": "tool_call",
            "gen_ai.tool.name": tool,
            "gen_ai.tool.type": "function",
            "gen_ai.tool.success": true,
          },
        },
        ctx,
      );
      clock += 1_500;
      span.end(clock);
    }
    for (const tool of t.denied ?? []) {
      const span = tracer.startSpan(
        "claude_code.permission.denied",
        { startTime: clock, attributes: { ...common, "gen_ai.tool.name": tool } },
        ctx,
      );
      span.setStatus({ code: SpanStatusCode.ERROR, message: `permission denied: ${tool}` });
      clock += 500;
      span.end(clock);
    }
    if (t.failure) {
      root.setAttribute("error.type", t.failure);
      root.addEvent("exception", { "exception.type": t.failure, "exception.message": t.failure }, clock);
      root.setStatus({ code: SpanStatusCode.ERROR, message: t.failure });
    } else {
      root.setAttributes({
        "agent.stop_reason": "end_turn",
        "turn.llm_calls": t.tools.length + 1,
        "gen_ai.usage.input_tokens": 1800 + 400 * t.tools.length,
        "gen_ai.usage.output_tokens": 350,
        "gen_ai.usage.cache_creation_tokens": 0,
        "gen_ai.usage.cache_read_tokens": 12000,
        "gen_ai.usage.cache_hit_ratio": 0.87,
      });
    }
    root.end(clock + 500);
  }
  await tracerProvider.forceFlush();
  const finished = [exporter, ...[...withIssue.values()].map((p) => p.exporter)].flatMap((e) =>
    e.getFinishedSpans(),
  );
  for (const span of finished) lines.push(serialize([span]));
  return lines;
}

const USAGE_EXPORT = "usage-export";
const TENANTS: Record<string, number> = { acme: 4_000, globex: 1_200, initech: 500, umbrella: 9_000 };
// The lake keeps a week of daily partitions: a query without its dt predicate reads all of them.
const PARTITION_DAYS = 7;
const ATHENA_USD_PER_TB = 5;
// Billing events are wide rows (line items, tax detail, raw payload JSON).
const ROW_BYTES = 40_000;

/**
 * The usage export job really run at each of its deployed commits, against a simulated Athena
 * that charges what Athena charges: the bytes of every partition the query cannot prune.
 */
async function recordUsageExport(work: string, shas: string[]): Promise<string[]> {
  const manifest = readDemoManifest();
  const rnd = seeded(20261121);
  const deploys = manifest.commits.flatMap((commit, index) =>
    commit.service === USAGE_EXPORT && commit.deployedAt ? [{ commit, index }] : [],
  );
  const lines: string[] = [];
  for (const [i, { commit, index }] of deploys.entries()) {
    const sha = shas[index] ?? "";
    const checkout = join(work, `export-${index}`);
    execFileSync("git", ["-C", join(work, "repo"), "worktree", "add", "-q", "--detach", checkout, sha]);
    const job = (await import(pathToFileURL(join(checkout, "etl/usage-export.js")).href)) as {
      exportUsage: (
        athena: unknown,
        tenant: string,
        day: string,
      ) => Promise<{ records: number; bytesScanned: number; costUsd: number }>;
    };
    const issue = /\((BILL-\d+)\)/.exec(commit.subject)?.[1];
    const { exporter, tracerProvider } = provider({
      "service.name": USAGE_EXPORT,
      "service.version": `0.${i + 1}.0`,
      "build.commit_sha": sha,
      "deploy.environment": "prod",
      "vcs.repository.url.full": manifest.repository,
      ...(issue ? { "work_tracker.issue_id": issue } : {}),
    });
    const tracer = tracerProvider.getTracer("@acme/usage-export", "1.0.0");
    const from = Date.parse(commit.deployedAt ?? "");
    const until = Date.parse(deploys[i + 1]?.commit.deployedAt ?? manifest.window.until);
    for (let at = from; at < until; at += 15 * 60_000) {
      for (const [tenant, size] of Object.entries(TENANTS)) {
        const athena = {
          async run(sql: string, params: string[]) {
            const regions = params.filter((p) => p === "us" || p === "eu").length || 1;
            const partitions = /\bdt\s*=/.test(sql) ? 1 : PARTITION_DAYS;
            let rows = 0;
            let bytes = 0;
            for (let r = 0; r < regions; r++) {
              const events = Math.round(size * (0.7 + 0.6 * rnd()));
              rows += events;
              for (let p = 0; p < partitions; p++) bytes += events * ROW_BYTES * (0.85 + 0.3 * rnd());
            }
            bytes = Math.round(bytes);
            return { rowCount: rows, bytesScanned: bytes, costUsd: (bytes / 1e12) * ATHENA_USD_PER_TB };
          },
        };
        const start = at + Math.floor(rnd() * 60_000);
        const result = await job.exportUsage(athena, tenant, manifest.window.since.slice(0, 10));
        const span = tracer.startSpan("export_usage", {
          kind: SpanKind.INTERNAL,
          startTime: start,
          attributes: {
            "tenant.id": tenant,
            "billing.record_count": result.records,
            "s3.bytes_scanned": result.bytesScanned,
            "athena.query_cost": Number(result.costUsd.toFixed(8)),
            "code.function": "exportUsage",
            "code.filepath": "etl/usage-export.js",
          },
        });
        span.end(start + 300 + Math.round(result.bytesScanned / 200_000));
      }
    }
    await tracerProvider.forceFlush();
    const spans = exporter.getFinishedSpans();
    for (let s = 0; s < spans.length; s += SPANS_PER_LINE)
      lines.push(serialize(spans.slice(s, s + SPANS_PER_LINE)));
  }
  return lines;
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), "tracefix-record-"));
  try {
    const manifest = readDemoManifest();
    const shas = buildDemoRepo(join(work, "repo"), {
      ...manifest,
      commits: manifest.commits.map(({ sha: _, ...c }) => c),
    });
    // --only usage-export,claude-code re-records those services and keeps every other line as it is.
    const only = process.argv.includes("--only")
      ? (process.argv[process.argv.indexOf("--only") + 1] ?? "").split(",")
      : null;
    const kept = only
      ? readFileSync(join(DEMO_DIR, "telemetry.jsonl"), "utf8")
          .split("\n")
          .filter((l) => l.trim() !== "" && !only.some((service) => l.includes(`"stringValue":"${service}"`)))
      : await recordBillingService(work, shas);
    const agentLines = !only || only.includes("claude-code") ? await recordAgentTurns() : [];
    const lines = [...kept, ...agentLines, ...(await recordUsageExport(work, shas))];
    // Interleave by time as a collector would have written them.
    lines.sort((a, b) => firstStart(a) - firstStart(b));
    writeFileSync(join(DEMO_DIR, "telemetry.jsonl"), `${lines.join("\n")}\n`);
    manifest.commits.forEach((commit, i) => {
      commit.sha = shas[i];
    });
    writeFileSync(join(DEMO_DIR, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    process.stderr.write(
      `recorded ${lines.length} export requests for commits ${shas.map((s) => s.slice(0, 8)).join(", ")}\n`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function firstStart(line: string): number {
  const match = /"startTimeUnixNano":"?(\d+)/.exec(line);
  return match ? Number(match[1]) / 1e6 : 0;
}

await main();
