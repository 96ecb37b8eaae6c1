import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { billingRegressionSha, buildDemoRepo, readDemoManifest } from "../../scripts/demo-repo.ts";
import { fingerprintLabel } from "../../src/actions/incident.ts";
import { type Report, ReportSchema } from "../../src/report/schema.ts";
import { type FakeAnthropic, startFakeAnthropic } from "../fakes/anthropic.ts";
import { type FakeGitHub, loadRepository, startFakeGitHub } from "../fakes/github.ts";
import { adf, type FakeJira, startFakeJira } from "../fakes/jira.ts";
import { FIX, liveEnv, modelWith } from "../harness/world.ts";
import { demoWindowArgs, runCli } from "../helpers/cli.ts";

const manifest = readDemoManifest();
const REGRESSION = billingRegressionSha(manifest);
describe("live actions: draft PRs and Jira incidents", () => {
  let dir = "";
  let github: FakeGitHub;
  let jira: FakeJira;
  let claude: FakeAnthropic;
  let patch: string | null = FIX;
  let confidence = 0.9;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "tracefix-live-"));
    buildDemoRepo(join(dir, "repo"));
    writeFileSync(
      join(dir, "triage.config.json"),
      JSON.stringify({
        github: { throttle: false },
        telemetry: { retries: 1, maxRetryDelayMs: 20 },
        actions: { confirmLooksMs: [20, 60, 150] },
      }),
    );
    github = await startFakeGitHub({ token: "gh" });
    github.repos.set("acme/billing-service", loadRepository(join(dir, "repo"), "acme", "billing-service"));
    jira = await startFakeJira({ email: "triage@acme.example", token: "jt" });
    jira.issues.set("BILL-142", {
      key: "BILL-142",
      summary: "Discount codes",
      status: "Done",
      description: adf("Codes apply discounts"),
    });
    patch = FIX;
    confidence = 0.9;
    claude = await startFakeAnthropic({ apiKey: "sk", respond: (r) => modelWith(patch, confidence)(r) });
  });
  afterEach(async () => {
    await Promise.all([github.close(), jira.close(), claude.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const night = async (
    out: string,
    extraEnv: Record<string, string> = {},
    extraArgs: string[] = [],
  ): Promise<{ code: number | null; report: Report }> => {
    const result = await runCli([...demoWindowArgs(), "--json", "--out", out, ...extraArgs], {
      cwd: dir,
      env: {
        ...liveEnv(github, jira, claude),
        JIRA_SCHEMA_MISMATCH: "throw",
        ...extraEnv,
      },
    });
    if (!result.stdout) throw new Error(result.stderr);
    return { code: result.code, report: ReportSchema.parse(JSON.parse(result.stdout)) };
  };
  const repo = () => github.repos.get("acme/billing-service");
  const tickets = () => [...jira.issues.values()].filter((i) => i.key.startsWith("OPS-"));

  it("creates once, then comments once per night and never opens a second PR", async () => {
    const first = await night("n1");
    expect(first.code).toBe(0);
    expect(first.report.dryRun).toBe(false);
    const regression = first.report.groups.find((g) => g.grouping.exceptionType === "TypeError");
    expect(regression?.actions).toEqual([
      expect.objectContaining({
        kind: "incident",
        status: "created",
        url: expect.stringContaining("/browse/OPS-"),
      }),
      expect.objectContaining({
        kind: "pull_request",
        status: "created",
        url: "https://github.com/acme/billing-service/pull/101",
      }),
    ]);
    const pulls = repo()?.pulls ?? [];
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({
      draft: true,
      head: `triage/${regression?.fingerprint}`,
      base: "main",
      labels: ["tracefix"],
    });
    expect(pulls[0]?.title).toMatch(/^fix\(billing-service\): /);
    const ticketKey = regression?.actions[0]?.url?.split("/browse/")[1] ?? "";
    expect(pulls[0]?.body).toContain(`/browse/${ticketKey}`);
    expect(pulls[0]?.body).toContain(`<!-- tracefix:fingerprint=${regression?.fingerprint} -->`);
    // The branch holds one commit on main with the patched file.
    const git = repo()?.git;
    const head = git?.branches.get(`triage/${regression?.fingerprint}`) ?? "";
    const commit = git?.commits.get(head);
    // Branched from main's head (later commits deploy other services; the patched file is unchanged there).
    expect(commit?.parents).toEqual([git?.branches.get("main")]);
    expect(git?.trees.get(commit?.tree ?? "")?.get("src/pricing.js")).toContain(
      "customer.discounts?.[customer.discountCode]",
    );
    // The ticket carries the fingerprint label, links the work item and the PR.
    const ticket = jira.issues.get(ticketKey);
    expect(ticket?.labels).toEqual(["tracefix", fingerprintLabel(regression?.fingerprint ?? "")]);
    expect(ticket?.links).toEqual([{ type: "Relates", key: "BILL-142" }]);
    expect([...(ticket?.remoteLinks?.values() ?? [])]).toEqual([
      { url: pulls[0]?.html_url, title: expect.stringContaining("Draft fix") },
    ]);
    const created = tickets().length;
    expect(created).toBe(first.report.groups.length);
    for (const group of first.report.groups) {
      for (const action of group.actions)
        expect(action.url ?? action.reason, `${group.slug} ${action.kind}`).toBeTruthy();
    }

    for (const [i, out] of ["n2", "n3"].entries()) {
      const again = await night(out);
      expect(again.code).toBe(0);
      expect(repo()?.pulls).toHaveLength(1);
      expect(tickets()).toHaveLength(created);
      for (const t of tickets()) expect(jira.added.get(t.key) ?? [], t.key).toHaveLength(i + 1);
      const pr = again.report.groups.find((g) => g.fingerprint === regression?.fingerprint)?.actions[1];
      expect(pr).toMatchObject({
        status: "skipped",
        url: pulls[0]?.html_url,
        reason: expect.stringMatching(/already exists/),
      });
      expect(again.report.groups.every((g) => g.actions[0]?.status === "updated")).toBe(true);
    }
  });

  it("heals a run that died between the ticket and the PR", async () => {
    // Three refusals: each is confirmed absent by a lookup, so the create is tried three times.
    github.inject(
      { kind: "status", status: 500, body: { message: "Server Error" } },
      { times: 3, match: (r) => r.method === "POST" && r.path.endsWith("/pulls") },
    );
    const broken = await night("n1");
    expect(broken.code).toBe(1);
    const regression = broken.report.groups.find((g) => g.grouping.exceptionType === "TypeError");
    expect(regression?.actions.map((a) => a.status)).toEqual(["created", "failed"]);
    expect(repo()?.pulls).toHaveLength(0);

    github.requests.length = 0;
    const healed = await night("n2");
    expect(healed.code).toBe(0);
    const pr = healed.report.groups.find((g) => g.fingerprint === regression?.fingerprint)?.actions[1];
    expect(pr).toMatchObject({ status: "created" });
    expect(repo()?.pulls).toHaveLength(1);
    // The branch from the first night was reused, not recreated.
    expect(github.requests.some((r) => r.method === "POST" && r.path.endsWith("/git/refs"))).toBe(false);
    const ticketKey = regression?.actions[0]?.url?.split("/browse/")[1] ?? "";
    expect([...(jira.issues.get(ticketKey)?.remoteLinks?.values() ?? [])]).toHaveLength(1);
  });

  it("treats an unreadable Jira search as an error, never as 'no ticket yet'", async () => {
    await night("n1");
    const before = tickets().length;
    jira.inject({ kind: "truncate" }, { times: 50, match: (r) => r.path === "/rest/api/3/search/jql" });
    // jira.js's production default ("warn") hands an unparseable body back instead of throwing.
    const second = await night("n2", { JIRA_SCHEMA_MISMATCH: "warn" });
    expect(tickets()).toHaveLength(before);
    expect(second.report.groups.every((g) => g.actions[0]?.status === "failed")).toBe(true);
    expect(second.report.groups[0]?.actions[1]?.reason).toMatch(/the incident ticket failed; the PR waits/);
  });

  it("finds a ticket whose create reply was unreadable by its label, and links it from the PR the same night", async () => {
    jira.inject(
      { kind: "truncate" },
      { times: 1, match: (r) => r.method === "POST" && r.path === "/rest/api/3/issue" },
    );
    const first = await night("n1", { JIRA_SCHEMA_MISMATCH: "warn" });
    const recovered = first.report.groups.find((g) => /reply was lost/.test(g.actions[0]?.reason ?? ""));
    expect(recovered?.actions[0]).toMatchObject({
      status: "created",
      url: expect.stringContaining("/browse/OPS-"),
    });
    expect(tickets()).toHaveLength(first.report.groups.length);
    for (const pull of repo()?.pulls ?? []) expect(pull.body).not.toContain("not created yet");
  });

  it("opens no PR while the ticket's fate is unknown, and links the ticket the next night", async () => {
    // The create is applied but unreadable, and every look fails too: nothing may be repeated.
    let lost = false;
    jira.inject(
      { kind: "truncate" },
      { times: 1, match: (r) => (lost = r.method === "POST" && r.path === "/rest/api/3/issue") },
    );
    jira.inject(
      { kind: "status", status: 400 },
      { times: 3, match: (r) => lost && r.path === "/rest/api/3/search/jql" },
    );
    const first = await night("n1", { JIRA_SCHEMA_MISMATCH: "warn" }, ["--limit", "1"]);
    const cut = first.report.groups[0];
    expect(cut?.actions[0]?.status).toBe("failed");
    expect(cut?.actions[0]?.reason).toMatch(/could not be confirmed; not repeated/);
    expect(cut?.actions[1]?.reason).toMatch(/the incident ticket failed; the PR waits/);
    expect(tickets()).toHaveLength(1);
    expect(repo()?.pulls).toHaveLength(0);
    const second = await night("n2", { JIRA_SCHEMA_MISMATCH: "warn" }, ["--limit", "1"]);
    const healed = second.report.groups.find((g) => g.fingerprint === cut?.fingerprint);
    expect(healed?.actions[0]?.status).toBe("updated");
    expect(tickets()).toHaveLength(1);
    expect(repo()?.pulls).toHaveLength(1);
    expect(repo()?.pulls[0]?.body).toContain(`/browse/${tickets()[0]?.key}`);
  });

  it("comments a regression on a resolved ticket and reports it as a recurrence", async () => {
    await night("n1");
    for (const t of tickets()) {
      t.status = "Done";
      t.statusCategory = "done";
    }
    const again = await night("n2");
    const incident = again.report.groups[0]?.actions[0];
    expect(incident).toMatchObject({
      status: "updated",
      reason: expect.stringMatching(/^recurrence: OPS-\d+ was Done; regression comment added/),
    });
  });

  it("keeps one PR per fingerprint when two runs overlap, and later nights update one ticket", async () => {
    const [a, b] = await Promise.all([night("a"), night("b")]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(repo()?.pulls).toHaveLength(1);
    const groups = a.report.groups.length;
    const perFingerprint = new Map<string, string[]>();
    for (const t of tickets()) {
      const label = (t.labels ?? []).find((l) => l.startsWith("tracefix-")) ?? "";
      perFingerprint.set(label, [...(perFingerprint.get(label) ?? []), t.key]);
    }
    expect(perFingerprint.size).toBe(groups);
    const before = new Map(tickets().map((t) => [t.key, (jira.added.get(t.key) ?? []).length]));
    await night("c");
    for (const keys of perFingerprint.values()) {
      const commented = keys.filter((k) => (jira.added.get(k) ?? []).length > (before.get(k) ?? 0));
      expect(commented, keys.join(",")).toHaveLength(1);
      expect(commented[0]).toBe(keys[0]);
    }
  });

  it("opens no PR for a patch that does not apply, a denied path or low confidence, and says why", async () => {
    patch = FIX.replace(
      "customer.discounts[customer.discountCode]",
      "customer.discountMap[customer.discountCode]",
    );
    const noApply = await night("n1");
    const reason = (r: Report) => r.groups.find((g) => g.grouping.exceptionType === "TypeError")?.actions[1];
    expect(reason(noApply.report)).toMatchObject({
      status: "skipped",
      reason: expect.stringMatching(/does not apply cleanly to src\/pricing\.js at the head of main/),
    });
    patch = FIX.replaceAll("src/pricing.js", ".github/workflows/ci.yml");
    expect(reason((await night("n2")).report)?.reason).toMatch(/deny-listed path/);
    patch = FIX;
    confidence = 0.6;
    expect(reason((await night("n3")).report)?.reason).toMatch(
      /confidence 0.6 is below the 0.75 needed for a PR/,
    );
    expect(repo()?.pulls).toHaveLength(0);
    expect(repo()?.git?.branches.size).toBe(1);
  });
});
