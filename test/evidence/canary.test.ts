import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDemoRepo } from "../../scripts/demo-repo.ts";
import { ReportSchema } from "../../src/report/schema.ts";
import { type FakeGitHub, fakePull, loadRepository, startFakeGitHub } from "../fakes/github.ts";
import { adf, type FakeJira, startFakeJira } from "../fakes/jira.ts";
import { runCli } from "../helpers/cli.ts";
import { exportRequest, jsonLines } from "../helpers/otlp.ts";
import { CANARY, CANARY_KEY_BLOCK as KEY_BLOCK } from "../helpers/secrets.ts";

const T0 = Date.parse("2026-11-20T00:00:00Z");
const WINDOW = ["--since", "2026-11-20T00:00:00Z", "--until", "2026-11-21T00:00:00Z"];

describe("secrets planted in telemetry and evidence never leave the process", () => {
  let dir = "";
  let github: FakeGitHub;
  let jira: FakeJira;
  let sha = "";
  let stdout = "";
  let code: number | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tracefix-canary-"));
    const repo = join(dir, "repo");
    buildDemoRepo(repo);
    // A commit that ships a key block and a hard-coded password next to the failing code.
    const pricing = readFileSync(join(repo, "src/pricing.js"), "utf8");
    writeFileSync(
      join(repo, "src/pricing.js"),
      pricing.replace("// BILL-142", `const GATEWAY_PASSWORD = "password=${CANARY.password}";\n// BILL-142`),
    );
    writeFileSync(join(repo, "deploy.pem"), `${KEY_BLOCK}\n`);
    const git = (...args: string[]) =>
      execFileSync(
        "git",
        ["-C", repo, "-c", "user.name=Dana", "-c", "user.email=dana@acme.example", ...args],
        { encoding: "utf8" },
      );
    git("add", "-A");
    git("commit", "-qm", `Hotfix pricing (contact ${CANARY.email})`);
    sha = git("rev-parse", "HEAD").trim();

    github = await startFakeGitHub({ token: "gh-token" });
    const fakeRepo = loadRepository(repo, "acme", "billing-service");
    fakeRepo.pullsByCommit.set(sha, [
      fakePull({
        number: 42,
        title: `Hotfix for ${CANARY.email}`,
        body: `Deploy with ${CANARY.githubToken} and card ${CANARY.card}`,
        head: { ref: "feature/BILL-142-hotfix", sha, label: "acme:feature/BILL-142-hotfix" },
      }),
    ]);
    github.repos.set("acme/billing-service", fakeRepo);

    jira = await startFakeJira({ email: "triage@acme.example", token: "jira-token" });
    jira.issues.set("BILL-142", {
      key: "BILL-142",
      summary: `Discount codes (reported by ${CANARY.email})`,
      status: "Done",
      description: adf(`Staging login password=${CANARY.password}`),
      customFields: { customfield_10042: adf("Totals apply the discount", [`Test card ${CANARY.card}`]) },
      comments: [
        {
          author: "Claude Code",
          body: adf(`Agent session complete: used ${CANARY.awsKey} and ${CANARY.jwt}`),
        },
      ],
    });

    const stack = `TypeError: Cannot read properties of undefined (reading 'SPRING10')\n    at applyDiscount (/srv/billing-service/src/pricing.js:8:62)\n    at handle (/srv/billing-service/src/handlers.js:9:21)`;
    const spans = Array.from({ length: 3 }, (_, i) => ({
      startMs: T0 + 3_600_000 + i * 1000,
      status: { code: 2, message: `token ${CANARY.jwt} rejected` },
      attributes: {
        "exception.type": "TypeError",
        "exception.message": `token ${CANARY.jwt} rejected for ${CANARY.email}`,
        "exception.stacktrace": `${stack}\n    at auth (${CANARY.githubToken})`,
        "aws.access_key": CANARY.awsKey,
        "payment.card": CANARY.card,
        "db.url": `postgres://admin:${CANARY.password}@db.internal:5432/app`,
      },
    }));
    writeFileSync(
      join(dir, "spans.jsonl"),
      jsonLines(
        exportRequest(
          { "service.name": "billing-service", "build.commit_sha": sha, "work_tracker.issue_id": "BILL-142" },
          spans,
        ),
      ),
    );
    const run = await runCli(["--input", "spans.jsonl", ...WINDOW, "--dry-run", "--json", "--out", "out"], {
      cwd: dir,
      env: {
        GITHUB_TOKEN: "gh-token",
        GITHUB_API_URL: github.url,
        GITHUB_REPOSITORY: "acme/billing-service",
        JIRA_BASE_URL: jira.url,
        JIRA_USER: "triage@acme.example",
        JIRA_API_TOKEN: "jira-token",
        JIRA_PROJECT: "OPS",
        JIRA_ACCEPTANCE_FIELD: "Acceptance Criteria",
        JIRA_SCHEMA_MISMATCH: "throw",
      },
    });
    code = run.code;
    stdout = run.stdout;
  });

  afterAll(async () => {
    await github.close();
    await jira.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("gathers the evidence from GitHub and Jira without a local checkout", () => {
    expect(code).toBe(0);
    const report = ReportSchema.parse(JSON.parse(stdout));
    const group = report.groups[0];
    expect(group).toMatchObject({
      repository: "acme/billing-service",
      repositorySource: "env",
      evidenceProblems: [],
    });
    expect(group?.pullRequest).toMatchObject({ number: 42, branch: "feature/BILL-142-hotfix" });
    expect(group?.workItem).toMatchObject({ key: "BILL-142", criteriaSource: "field" });
    expect(group?.workItem?.agentNotes).toHaveLength(1);
    expect(group?.suspects[0]?.path).toBe("src/pricing.js");
  });

  it("counts what it redacted, by kind", () => {
    const report = ReportSchema.parse(JSON.parse(stdout));
    for (const kind of [
      "aws-key",
      "jwt",
      "github-token",
      "email",
      "card-number",
      "connection-string",
      "private-key",
    ]) {
      expect(report.redactions.byKind[kind], kind).toBeGreaterThan(0);
    }
    expect(JSON.stringify(report.groups[0]?.workItem)).toContain("[REDACTED:");
  });

  it("leaves no canary in the report, the markdown, the dry-run bodies or any request sent", () => {
    const outputs = [stdout, ...filesUnder(join(dir, "out")).map((f) => readFileSync(f, "utf8"))];
    const sent = [...github.requests, ...jira.requests].map((r) => `${r.path}${r.query} ${r.body}`);
    const haystacks = [...outputs, ...sent];
    expect(outputs.length).toBeGreaterThanOrEqual(4);
    for (const [name, secret] of Object.entries(CANARY)) {
      for (const text of haystacks) expect(text.includes(secret), `${name} leaked`).toBe(false);
    }
  });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}
