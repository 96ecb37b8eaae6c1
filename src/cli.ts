#!/usr/bin/env node
import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type CliOptions, DEFAULT_LIMIT, DEFAULT_OUT_DIR, loadConfig } from "./config.ts";
import { nearestName } from "./nearest-name.ts";
import type { runTriage } from "./pipeline.ts";
import { createProgress } from "./progress.ts";
import { UsageError } from "./usage-error.ts";

export const HELP = `triage — nightly AI-SRE triage of error spans and failed coding-agent turns

Usage:
  triage doctor             check every configured credential and endpoint, then exit
  triage [--since 24h] [--until <ISO|now>] [--source signoz|honeycomb|file|all]
         [--input <path.jsonl>] [--limit ${DEFAULT_LIMIT}] [--dry-run] [--out <dir>] [--json]
         [--config <path>] [--repo-dir <path>] [--max-cost <usd>] [--batch] [--verbose]

Reads failing spans in the window, groups them (exception slug × commit × service), ranks the
groups, compares each with the diff of the commit it ran, writes a root-cause writeup, and
proposes incident tickets and draft fix PRs. Nothing is ever merged or closed.

Options:
  --since <30m|24h|7d|ISO>  start of the window, relative to --until (default 24h)
  --until <now|ISO>         end of the window (default now)
  --source <name>           signoz, honeycomb, file or all configured (default: file when
                            --input is given, else all configured backends)
  --input <path>            OTLP/JSON lines file from the Collector's file exporter (.gz ok)
  --limit <n>               analyse the top n groups (default ${DEFAULT_LIMIT}; 1–1000)
  --dry-run                 send nothing; write would-be tickets and PRs under --out (also the
                            default while GITHUB_TOKEN or JIRA_BASE_URL is unset)
  --out <dir>               where report.json, report.md and dry-run bodies go (default ${DEFAULT_OUT_DIR})
  --json                    print report.json on stdout (progress is quiet; warnings still go
                            to stderr)
  --config <path>           triage.config.json (default ./triage.config.json if present)
  --repo-dir <path>         local git checkout used to read each group's commit diff and to
                            blame the deploy's earlier commits (else both come from GitHub when
                            GITHUB_TOKEN is set)
  --max-cost <usd>          ceiling on the run's estimated Claude spend; groups past it are
                            reported as skipped (also "analysis.maxCostUsd" in the config)
  --batch                   send the night's Claude requests as one Message Batch: half the
                            model price, but the report waits for the batch (up to 30 min,
                            "analysis.batchMaxWaitMs"); what it does not answer in time goes
                            through the Messages API. Also "analysis.batch" in the config
  --verbose                 per-request lines with status and time for every backend, each
                            group's token use (cache reads included) and why it got no PR
  -h, --help                show this help
  --version                 print the version

Besides errors, every run checks cost per unit of work (S3 bytes scanned, Athena query cost and
duration per billing.record_count, per tenant) for each commit that ran in the window against
the commit before it, and reports step changes as cost_regression groups ("regressions" in
triage.config.json; see README "Cost regressions"). It also reads the coding agents' hook spans:
it links each commit to the agent session that wrote it, reports permission-denial clusters,
tool-failure spikes and runaway sessions as agent_behaviour groups (a ticket with a proposed
guardrail, never a PR), and sums the agents' usage ("agents" in triage.config.json).

Model calls go as fast as the provider's announced rate limits allow (anthropic-ratelimit-*
headers and 429s), up to "analysis.maxConcurrency" (default 32) in flight; --verbose shows the pace.

Exit codes: 0 every group handled · 1 the run finished but a group, action, source, cost or
agent query failed (see the report) · 2 usage or configuration error (nothing was sent anywhere).

Examples:
  triage --since 24h --repo-dir . --dry-run
  triage --input spans.jsonl.gz --since 2026-11-20T00:00:00Z --until 2026-11-21T00:00:00Z --json
  SIGNOZ_URL=https://signoz.example.com SIGNOZ_API_KEY=… triage --source signoz --limit 10

Environment: SIGNOZ_URL, SIGNOZ_API_KEY, HONEYCOMB_API_KEY, HONEYCOMB_API_URL, HONEYCOMB_DATASET,
GITHUB_TOKEN, GITHUB_API_URL, GITHUB_REPOSITORY, JIRA_BASE_URL, JIRA_USER, JIRA_API_TOKEN,
JIRA_PROJECT, JIRA_ACCEPTANCE_FIELD, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, TRIAGE_MODEL.
See README.md for what each does.
`;

const OPTIONS = {
  since: { type: "string" },
  until: { type: "string" },
  source: { type: "string" },
  input: { type: "string" },
  limit: { type: "string" },
  "dry-run": { type: "boolean" },
  out: { type: "string" },
  json: { type: "boolean" },
  config: { type: "string" },
  "repo-dir": { type: "string" },
  verbose: { type: "boolean" },
  "max-cost": { type: "string" },
  batch: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const;

type ParsedArgs = CliOptions & { help?: boolean | undefined; version?: boolean | undefined };

export function parseCliArgs(argv: readonly string[]): ParsedArgs {
  try {
    const { values } = parseArgs({
      args: attachNegativeValues(argv),
      options: OPTIONS,
      strict: true,
      allowPositionals: false,
    });
    return {
      ...values,
      dryRun: values["dry-run"],
      repoDir: values["repo-dir"],
      maxCost: values["max-cost"],
    };
  } catch (error) {
    throw new UsageError(describeArgError(error));
  }
}

/**
 * `--limit -1` would read as a flag named `-1`; glue a value that starts with a dash and a digit
 * to its flag, so the flag's own check answers ("must be from 1 to 1000").
 */
function attachNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? "";
    const next = argv[i + 1];
    const name = token.startsWith("--") ? token.slice(2) : "";
    const option = OPTIONS[name as keyof typeof OPTIONS] as { type: string } | undefined;
    if (option?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      out.push(`${token}=${next}`);
      i += 1;
    } else {
      out.push(token);
    }
  }
  return out;
}

/** node:util's messages are long and mention '--' tricks; name the flag and stop. */
function describeArgError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const flag = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const near = flag ? nearestName(flag.replace(/^-+/, ""), Object.keys(OPTIONS)) : null;
    return `unknown option ${flag ?? message}${near ? ` (did you mean --${near}?)` : " (see triage --help)"}`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    return message.includes("argument missing") ? `${flag} needs a value` : `${flag} does not take a value`;
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    return `unexpected argument ${/'([^']+)'/.exec(message)?.[1] ?? ""} (flags start with --; see triage --help)`;
  }
  return message;
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    if (argv[0] === "doctor") return await doctor(argv.slice(1), env);
    const args = parseCliArgs(argv);
    if (args.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (args.version) {
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    const config = loadConfig(args, env, process.cwd(), new Date());
    const progress = createProgress({
      quiet: config.json,
      verbose: config.verbose,
      tty: process.stderr.isTTY === true,
    });
    // Loaded only for a run: --help, --version and usage errors stay quick.
    const [{ runTriage }, { writeReport }] = await Promise.all([
      import("./pipeline.ts"),
      import("./report/write.ts"),
    ]);
    const { report, exitCode } = await runTriage(config, progress);
    const written = await writeReport(report, config.outDir, config.stepSummaryPath);
    progress.info(`wrote ${written.jsonPath} and ${written.markdownPath}`);
    if (config.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stderr.write(summaryLines(report));
    return exitCode;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`triage: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(
      `triage: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}

/** `triage doctor [--config <path>]`: check every configured service; 0 all good, 1 a check failed. */
async function doctor(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const args = parseCliArgs(argv);
  if (args.help) {
    process.stdout.write(DOCTOR_HELP);
    return 0;
  }
  const { loadServiceSettings } = await import("./config.ts");
  const { renderDoctor, runDoctor } = await import("./doctor.ts");
  const results = await runDoctor(loadServiceSettings(env, process.cwd(), args.config));
  process.stdout.write(renderDoctor(results));
  return results.some((r) => r.status === "failed") ? 1 : 0;
}

const DOCTOR_HELP = `triage doctor — check every configured credential and endpoint without a run

Usage: triage doctor [--config <path>]

Makes one or two read-only calls per configured service (SigNoz, Honeycomb, GitHub, Jira,
Anthropic) and says what each key may do. Exit 0 when every configured service passes, 1 when a
check fails, 2 on a configuration error.
`;

function summaryLines(report: Awaited<ReturnType<typeof runTriage>>["report"]): string {
  const blind = report.warnings.length;
  const caveat =
    blind > 0
      ? `triage: ${blind} problem(s) limited what this run could see (listed above and in report.md)\n`
      : "";
  if (report.groups.length === 0)
    return blind > 0
      ? `triage: no failing spans found in what could be read — not an all-clear\n${caveat}`
      : "triage: no failing spans in the window\n";
  const rows = report.groups.map((g) => {
    const suspect = g.analysis?.suspect
      ? ` → ${g.analysis.suspect.path}${g.analysis.suspect.line ? `:${g.analysis.suspect.line}` : ""}`
      : "";
    const flag = g.newCommit ? " [new commit]" : "";
    return `  ${String(g.rank).padStart(2)}. ${String(g.count).padStart(5)}×  ${g.service}  ${g.slug}${flag}${suspect}${g.error ? `  FAILED: ${g.error}` : ""}`;
  });
  const more =
    report.alsoSeen.length > 0
      ? `  … and ${report.alsoSeen.length} more group(s) past --limit (see report.md)\n`
      : "";
  return `Ranked groups:\n${rows.join("\n")}\n${more}${caveat}`;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

const REQUIRED_NODE_MAJOR = 24;

// Run only as the entry point, so tests can import main() without side effects. Node before 22
// has no import.meta.main, so the script path decides there, and an older Node is told plainly.
const isEntryPoint =
  import.meta.main ??
  (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url));
if (isEntryPoint) {
  if (Number(process.versions.node.split(".")[0]) < REQUIRED_NODE_MAJOR) {
    process.stderr.write(
      `triage: Node ${REQUIRED_NODE_MAJOR} or newer is required (this is Node ${process.versions.node}). Run it through the project's own Node with \`npx triage\` or \`npm run\`, or install Node ${REQUIRED_NODE_MAJOR}.\n`,
    );
    process.exitCode = 2;
  } else {
    process.exitCode = await main(process.argv.slice(2));
  }
}
