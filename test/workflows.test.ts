import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const DIR = new URL("../.github/workflows/", import.meta.url).pathname;
const VALIDATOR = new URL("../node_modules/.bin/action-validator", import.meta.url).pathname;
interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown> & { path?: string };
  env?: Record<string, string>;
}
interface Workflow {
  on: {
    schedule: Array<{ cron: string }>;
    workflow_dispatch: { inputs: Record<string, { default?: unknown; type?: string }> };
  };
  concurrency: unknown;
  permissions: unknown;
  jobs: Record<string, { steps: Step[] }>;
}
const load = (name: string) => parse(readFileSync(`${DIR}${name}`, "utf8")) as Workflow;
const stepsOf = (wf: Workflow, job: string): Step[] => wf.jobs[job]?.steps ?? [];

describe("GitHub Actions workflows", () => {
  it.each(readdirSync(DIR).filter((f) => f.endsWith(".yml")))(
    "%s passes action-validator (the workflow schema)",
    (file) => {
      expect(() => execFileSync(VALIDATOR, [`${DIR}${file}`], { stdio: "pipe" })).not.toThrow();
    },
  );

  it("runs triage nightly and by hand with since, limit, dry_run, source and batch inputs", () => {
    const wf = load("triage.yml");
    expect(wf.on.schedule[0]?.cron).toMatch(/^\d+ \d+ \* \* \*$/);
    expect(Object.keys(wf.on.workflow_dispatch.inputs)).toEqual([
      "since",
      "limit",
      "dry_run",
      "source",
      "batch",
    ]);
    expect(wf.on.workflow_dispatch.inputs.batch).toMatchObject({ type: "boolean", default: false });
    expect(wf.on.workflow_dispatch.inputs.since?.default).toBe("24h");
    expect(wf.on.workflow_dispatch.inputs.dry_run?.type).toBe("boolean");
    const triage = stepsOf(wf, "triage").find((s) => s.name === "Triage");
    expect(triage?.run).toMatch(/ \$BATCH$/);
    expect(triage?.env?.BATCH).toMatch(
      /^\$\{\{ \(inputs\.batch \|\| vars\.TRACEFIX_BATCH == 'true'\) && '--batch' \|\| '' \}\}$/,
    );
  });

  it("never overlaps, keeps the workflow token read-only, and maps secrets to the documented names", () => {
    const wf = load("triage.yml");
    expect(wf.concurrency).toEqual({ group: "tracefix-triage", "cancel-in-progress": false });
    expect(wf.permissions).toEqual({ contents: "read" });
    const steps = stepsOf(wf, "triage");
    expect(steps.find((s) => s.uses?.startsWith("actions/setup-node"))?.with).toEqual({
      "node-version": 24,
      cache: "npm",
    });
    expect(steps.some((s) => s.run === "npm ci")).toBe(true);
    const env = steps.find((s) => s.name === "Triage")?.env ?? {};
    for (const name of [
      "SIGNOZ_URL",
      "SIGNOZ_API_KEY",
      "HONEYCOMB_API_KEY",
      "HONEYCOMB_DATASET",
      "GITHUB_TOKEN",
      "JIRA_BASE_URL",
      "JIRA_API_TOKEN",
      "JIRA_PROJECT",
      "ANTHROPIC_API_KEY",
    ]) {
      expect(env[name], name).toMatch(/^\$\{\{ (secrets|vars)\.[A-Z_]+ \}\}$/);
    }
    const upload = steps.find((s) => s.uses?.startsWith("actions/upload-artifact"));
    expect(upload?.if).toBe("always()");
    expect(upload?.with?.path).toContain("triage-out/report.md");
  });

  it("runs the README's commands in CI on Node 24", () => {
    const steps = stepsOf(load("ci.yml"), "test");
    expect(steps.map((s) => s.run).filter(Boolean)).toEqual([
      "npm ci",
      "npm run typecheck",
      "npm run lint",
      "npm test",
      "npm run demo",
      "npm run eval",
    ]);
  });
});
