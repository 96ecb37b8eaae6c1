import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDemoRepo, readDemoManifest } from "../scripts/demo-repo.ts";
import { type Report, ReportSchema } from "../src/report/schema.ts";
import { demoWindowArgs, runCli } from "./helpers/cli.ts";

/** The demo end to end: recorded OTel telemetry + the demo git history through the real CLI. */
describe("the demo", () => {
  const manifest = readDemoManifest();
  const regression = manifest.commits.find((c) => c.subject.includes("BILL-142"))?.sha ?? "";
  const partitionDrop = manifest.commits.find((c) => c.subject.includes("BILL-152"))?.sha ?? "";
  const volumeCommit = manifest.commits.find((c) => c.subject.includes("BILL-151"))?.sha ?? "";
  let dir = "";
  let report: Report;
  let stderr = "";
  let code: number | null = null;

  const args = () => [
    ...demoWindowArgs(),
    "--repo-dir",
    join(dir, "repo"),
    "--out",
    join(dir, "out"),
    "--dry-run",
  ];
  const readReport = () =>
    ReportSchema.parse(JSON.parse(readFileSync(join(dir, "out", "report.json"), "utf8")));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tracefix-demo-"));
    buildDemoRepo(join(dir, "repo"));
    const run = await runCli(args());
    code = run.code;
    stderr = run.stderr;
    report = readReport();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const groupOf = (predicate: (g: Report["groups"][number]) => boolean) => {
    const group = report.groups.find(predicate);
    if (!group) throw new Error("group not found");
    return group;
  };

  it("exits 0 with progress and a ranked summary on stderr", () => {
    expect(code).toBe(0);
    expect(stderr).toMatch(/querying file/);
    expect(stderr).toMatch(/\[1\/\d+\]/);
    expect(stderr).toMatch(
      /Ranked groups:\n(\s+\d\..*\n)*\s+\d\.\s+\d+×\s+billing-service\s+TypeError\.applyDiscount/,
    );
  });

  it("ranks the regression first among the errors and points its suspect at the line the commit changed", () => {
    const top = report.groups.find((g) => g.kind === "exception");
    expect(top).toMatchObject({
      kind: "exception",
      commitSha: regression,
      newCommit: true,
      issueKey: "BILL-142",
    });
    expect(top?.analysis).toMatchObject({
      category: "code_regression",
      suspect: { commitSha: regression, path: "src/pricing.js", line: 7 },
    });
    expect(top?.suspects[0]).toMatchObject({ path: "src/pricing.js", line: 7 });
  });

  it("collapses errors that differ only in ids and numbers into one group", () => {
    const notFound = groupOf(
      (g) => g.grouping.exceptionType === "InvoiceNotFoundError" && g.commitSha === regression,
    );
    expect(notFound.count).toBeGreaterThan(1);
    expect(notFound.grouping.message).toBe("invoice inv_<id> not found for tenant <num>");
    const timeouts = report.groups.filter((g) => g.grouping.exceptionType === "PaymentGatewayTimeout");
    expect(new Set(timeouts.map((g) => g.slug)).size).toBe(1);
  });

  it('says "no code cause found in this commit" for an error whose stack misses the diff', () => {
    const notFound = groupOf(
      (g) => g.grouping.exceptionType === "InvoiceNotFoundError" && g.commitSha === regression,
    );
    expect(notFound.suspects).toEqual([]);
    expect(notFound.analysis?.rootCause).toMatch(/^No code cause found in this commit/);
  });

  it("reports the coding agent's stop failures as their own group", () => {
    const agent = groupOf(
      (g) => g.kind === "agent_stop_failure" && g.grouping.exceptionType === "rate_limit",
    );
    expect(agent).toMatchObject({ service: "claude-code", count: 4, commitSha: null });
    expect(agent.analysis?.rootCause).toMatch(/^No code cause/);
  });

  it("leaves every group in a definite state with a dry-run ticket body on disk", () => {
    expect(report.totals.groupsFailed).toBe(0);
    for (const group of report.groups) {
      expect(group.actions.map((a) => `${a.kind}:${a.status}`)).toEqual([
        "incident:dry_run",
        "pull_request:skipped",
      ]);
      const body = readFileSync(join(dir, "out", "actions", group.fingerprint, "incident.md"), "utf8");
      expect(body).toContain(`<!-- tracefix:fingerprint=${group.fingerprint} -->`);
    }
    expect(existsSync(join(dir, "out", "report.md"))).toBe(true);
  });

  it("rewrites the same files on a rerun instead of adding more", async () => {
    const before = readdirSync(join(dir, "out", "actions")).sort();
    const rerun = await runCli(args());
    expect(rerun.code).toBe(0);
    expect(readdirSync(join(dir, "out", "actions")).sort()).toEqual(before);
    const again = readReport();
    expect(again.groups.map((g) => g.fingerprint)).toEqual(report.groups.map((g) => g.fingerprint));
  });

  it("names the usage-export commit that dropped its partition predicate, not the one that doubled volume", () => {
    const costs = report.groups.filter((g) => g.kind === "cost_regression");
    expect(costs).toHaveLength(1);
    const [cost] = costs;
    expect(cost).toMatchObject({
      service: "usage-export",
      commitSha: partitionDrop,
      issueKey: "BILL-152",
      newCommit: true,
    });
    expect(cost?.regression).toMatchObject({
      operation: "export_usage",
      metric: "s3.bytes_scanned",
      per: "billing.record_count",
      baseline: { commitSha: volumeCommit },
      tenants: { affected: 4, total: 4 },
    });
    expect(cost?.regression?.ratio).toBeGreaterThan(5);
    expect(cost?.regression?.extraCostUsdPerDay).toBeGreaterThan(1);
    expect(cost?.suspects[0]).toMatchObject({ path: "etl/usage-export.js", line: 16 });
    expect(cost?.suspects[0]?.reason).toMatch(/removes a partition\/date predicate/);
    expect(cost?.analysis).toMatchObject({
      category: "code_regression",
      suspect: { path: "etl/usage-export.js" },
    });
    expect(report.costCheck).toMatchObject({ flagged: 1, failed: [] });
    const md = readFileSync(join(dir, "out", "report.md"), "utf8");
    expect(md).toContain("## Cost regressions");
    expect(md).toContain("xychart-beta");
    const ticket = readFileSync(join(dir, "out", "actions", cost?.fingerprint ?? "", "incident.md"), "utf8");
    expect(ticket).toContain("## Before and after, per tenant");
    expect(ticket).toMatch(/\| umbrella \| [\d.]+k \| [\d.]+k \| ×\d\.\d\d \|/);
  });

  it("links the partition regression to the coding-agent session that wrote it, by its issue key", () => {
    const cost = groupOf((g) => g.kind === "cost_regression");
    expect(cost.agentSessions).toEqual([
      expect.objectContaining({ sessionId: "s-e152", link: "issue_key", toolCalls: 7 }),
    ]);
    // The error regression's commit has no session that fits it: no guessed link.
    expect(groupOf((g) => g.kind === "exception" && g.slug.startsWith("TypeError")).agentSessions).toEqual(
      [],
    );
  });

  it("reports one permission-denial cluster with a guardrail and no PR, and the agents' usage", () => {
    const denials = groupOf((g) => g.kind === "agent_behaviour");
    expect(denials.behaviour).toMatchObject({
      signal: "permission_denied",
      tool: "Bash",
      repo: "acme/billing-service",
      count: 4,
      sessions: ["s-d7a1"],
    });
    expect(denials.actions.find((a) => a.kind === "pull_request")?.reason).toMatch(
      /agent configuration is a person's decision/,
    );
    const ticket = readFileSync(join(dir, "out", "actions", denials.fingerprint, "incident.md"), "utf8");
    expect(ticket).toContain("## Proposed guardrail");
    expect(report.agentUsage).toMatchObject({ sessions: 5, topDenials: [{ tool: "Bash", count: 4 }] });
    expect(readFileSync(join(dir, "out", "report.md"), "utf8")).toContain("## Coding agents in the window");
  });
});
