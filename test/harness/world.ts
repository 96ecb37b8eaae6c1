import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { billingRegressionSha, buildDemoRepo, DEMO_DIR, readDemoManifest } from "../../scripts/demo-repo.ts";
import { type Report, ReportSchema } from "../../src/report/schema.ts";
import {
  type FakeAnthropic,
  type FakeRateLimits,
  type MessagesRequest,
  startFakeAnthropic,
  userText,
} from "../fakes/anthropic.ts";
import { type FakeGitHub, loadRepository, startFakeGitHub } from "../fakes/github.ts";
import { adf, type FakeJira, startFakeJira } from "../fakes/jira.ts";
import type { ChaosSettings, FakeServer } from "../fakes/server.ts";
import { type FakeSignoz, startFakeSignoz } from "../fakes/signoz.ts";
import { loadSpans } from "../fakes/span-store.ts";
import { runCli } from "../helpers/cli.ts";

export const manifest = readDemoManifest();
const REGRESSION = billingRegressionSha(manifest);
export const FIX = [
  "--- a/src/pricing.js",
  "+++ b/src/pricing.js",
  "@@ -5,4 +5,4 @@",
  " // BILL-142: a customer may carry a discount code that selects one of their negotiated discounts.",
  " export function applyDiscount(subtotalCents, customer) {",
  "-  const discount = customer.discountCode ? customer.discounts[customer.discountCode] : customer.discount;",
  "+  const discount = customer.discountCode ? customer.discounts?.[customer.discountCode] : customer.discount;",
  "   if (!discount) return subtotalCents;",
  "",
].join("\n");

/** The model's answers: a fix for the regression, no code cause for the rest. */
export function carefulModel(request: MessagesRequest) {
  return modelWith(FIX, 0.9)(request);
}

/** A model that proposes `patch` for the regression at `confidence`, and no code cause elsewhere. */
export function modelWith(patch: string | null, confidence: number) {
  return (request: MessagesRequest) => answerFor(request, patch, confidence);
}

function answerFor(request: MessagesRequest, patch: string | null, confidence: number) {
  const regression = userText(request).includes("Title: TypeError: Cannot read properties");
  return {
    answer: {
      summary: regression ? "Legacy customers have no discounts map." : "Not caused by this commit.",
      rootCause: regression
        ? "applyDiscount dereferences customer.discounts without a guard."
        : "No code cause in this change.",
      category: regression ? "code_regression" : "unknown",
      confidence: regression ? confidence : 0.3,
      suspect: regression
        ? { commitSha: REGRESSION, path: "src/pricing.js", line: 7, why: "changed line" }
        : null,
      violatedCriteria: [],
      evidence: ["span 1"],
      investigationSteps: [],
      fix: regression && patch ? { rationale: "guard legacy customers", patch } : null,
    },
  };
}

/** The environment that points the CLI at the GitHub, Jira and Messages API fakes, with their credentials. */
export function liveEnv(github: FakeServer, jira: FakeServer, claude: FakeServer): Record<string, string> {
  return {
    GITHUB_TOKEN: "gh",
    GITHUB_API_URL: github.url,
    GITHUB_REPOSITORY: "acme/billing-service",
    JIRA_BASE_URL: jira.url,
    JIRA_USER: "triage@acme.example",
    JIRA_API_TOKEN: "jt",
    JIRA_PROJECT: "OPS",
    ANTHROPIC_API_KEY: "sk",
    ANTHROPIC_BASE_URL: claude.url,
  };
}

export interface World {
  dir: string;
  signoz: FakeSignoz;
  github: FakeGitHub;
  jira: FakeJira;
  claude: FakeAnthropic;
  servers: FakeServer[];
  night(
    extraEnv?: Record<string, string>,
    extraArgs?: string[],
  ): Promise<{ code: number | null; report: Report | null; stderr: string; ms: number }>;
  chaos(settings: (Omit<ChaosSettings, "seed"> & { seed: number }) | null): void;
  close(): Promise<void>;
}

export interface WorldOptions {
  spansFile?: string;
  respond?: (
    request: MessagesRequest,
    index: number,
  ) =>
    | ReturnType<typeof carefulModel>
    | { text: string }
    | { stopReason: "refusal" | "max_tokens"; text?: string };
  config?: Record<string, unknown>;
  /** The model provider's per-minute limits, enforced and announced (none when absent). */
  limits?: FakeRateLimits;
}

/** Every fake at once: SigNoz with the demo spans, GitHub with the demo repo, Jira, Claude. */
export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "tracefix-world-"));
  buildDemoRepo(join(dir, "repo"));
  writeFileSync(
    join(dir, "triage.config.json"),
    JSON.stringify({
      github: { throttle: false },
      telemetry: { timeoutMs: 1_000, retries: 3, maxRetryDelayMs: 50 },
      analysis: { timeoutMs: 1_000, retries: 3 },
      // The error-group safety tests count writes per error group; the chaos night turns this on.
      regressions: { enabled: false },
      agents: { enabled: false },
      ...options.config,
    }),
  );
  const signoz = await startFakeSignoz({
    apiKey: "sz",
    spans: loadSpans(options.spansFile ?? join(DEMO_DIR, "telemetry.jsonl")),
  });
  const github = await startFakeGitHub({ token: "gh" });
  github.repos.set("acme/billing-service", loadRepository(join(dir, "repo"), "acme", "billing-service"));
  const jira = await startFakeJira({ email: "triage@acme.example", token: "jt" });
  jira.issues.set("BILL-142", {
    key: "BILL-142",
    summary: "Discount codes",
    status: "Done",
    description: adf("Codes apply discounts"),
  });
  const claude = await startFakeAnthropic({
    apiKey: "sk",
    respond: options.respond ?? carefulModel,
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const servers: FakeServer[] = [signoz, github, jira, claude];
  let nights = 0;
  return {
    dir,
    signoz,
    github,
    jira,
    claude,
    servers,
    async night(extraEnv = {}, extraArgs = []) {
      nights += 1;
      const started = Date.now();
      const result = await runCli(
        [
          "--source",
          "signoz",
          "--since",
          manifest.window.since,
          "--until",
          manifest.window.until,
          "--json",
          "--out",
          `night-${nights}`,
          ...extraArgs,
        ],
        {
          cwd: dir,
          env: {
            SIGNOZ_URL: signoz.url,
            SIGNOZ_API_KEY: "sz",
            ...liveEnv(github, jira, claude),
            ...extraEnv,
          },
        },
      );
      const report = result.stdout ? ReportSchema.parse(JSON.parse(result.stdout)) : null;
      return { code: result.code, report, stderr: result.stderr, ms: Date.now() - started };
    },
    chaos(settings) {
      for (const [i, server] of servers.entries()) {
        server.chaos(settings ? { ...settings, seed: settings.seed * 31 + i } : null);
      }
    },
    async close() {
      await Promise.all(servers.map((s) => s.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
