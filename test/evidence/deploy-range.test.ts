import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ReportSchema } from "../../src/report/schema.ts";
import { fakePull, loadRepository, startFakeGitHub } from "../fakes/github.ts";
import { runCli } from "../helpers/cli.ts";
import { scratchRepo } from "../helpers/git-repo.ts";
import { errorSpan, exportRequest, jsonLines } from "../helpers/otlp.ts";
import { useTempDirs } from "../helpers/tmp.ts";

const SINCE = "2026-11-20T00:00:00Z";
const UNTIL = "2026-11-21T00:00:00Z";
const T0 = Date.parse(SINCE);

const PRICING_OK = [
  "export function applyDiscount(customer, total) {",
  "  const discounts = { SPRING10: 0.1 };",
  "  const code = customer.discountCode;",
  "  if (!code) return total;",
  "  const rate = discounts[code] ?? 0;",
  "  const kept = 1 - rate;",
  "  return total * kept;",
  "}",
  "",
].join("\n");
const PRICING_BUG = PRICING_OK.replace(
  "  return total * kept;",
  "  return total * customer.discounts[code].kept;",
);
const STACK = [
  "TypeError: Cannot read properties of undefined (reading 'SPRING10')",
  "    at applyDiscount (/srv/billing/src/pricing.js:7:33)",
  "    at handle (/srv/billing/src/handlers.js:9:21)",
].join("\n");

/** base → the bug (BILL-142) → a README change that is deployed with it. */
function buildRepo(dir: string): { base: string; bug: string; running: string } {
  const { commit } = scratchRepo(dir, "2026-11-19T10:00:00Z");
  commit("Initial billing service", { "README.md": "# billing\n", "src/handlers.js": "// handlers\n" });
  const base = commit("Add pricing", { "src/pricing.js": PRICING_OK });
  const bug = commit("Support discount codes (BILL-142)", { "src/pricing.js": PRICING_BUG });
  const running = commit("Document the discount codes", {
    "README.md": "# billing\n\nDiscount codes: SPRING10.\n",
  });
  return { base, bug, running };
}

describe("suspect commits across the deploy range", () => {
  const tempDir = useTempDirs();

  const run = async (withPrevious: boolean, via: "checkout" | "github" = "checkout") => {
    const dir = tempDir();
    const repo = join(dir, "repo");
    mkdirSync(repo);
    const shas = buildRepo(repo);
    const github = via === "github" ? await startFakeGitHub({ token: "gh" }) : null;
    github?.repos.set("acme/billing", loadRepository(repo, "acme", "billing"));
    github?.repos.get("acme/billing")?.pullsByCommit.set(shas.bug, [
      fakePull({
        number: 142,
        title: "Support discount codes",
        merged_at: "2026-11-19T11:00:00Z",
        state: "closed",
      }),
    ]);
    const previous = withPrevious
      ? [
          exportRequest({ "service.name": "billing", "build.commit_sha": shas.base }, [
            { startMs: T0 - 3_600_000, name: "GET /health" },
          ]),
        ]
      : [];
    const errors = exportRequest(
      { "service.name": "billing", "build.commit_sha": shas.running },
      Array.from({ length: 5 }, (_, i) =>
        errorSpan(
          T0 + 3_600_000 + i * 60_000,
          "TypeError",
          "Cannot read properties of undefined (reading 'SPRING10')",
          STACK,
        ),
      ),
    );
    writeFileSync(join(dir, "spans.jsonl"), jsonLines(...previous, errors));
    const result = await runCli(
      [
        "--input",
        join(dir, "spans.jsonl"),
        "--since",
        SINCE,
        "--until",
        UNTIL,
        ...(github ? [] : ["--repo-dir", repo]),
        "--dry-run",
        "--json",
        "--out",
        join(dir, "out"),
      ],
      {
        cwd: dir,
        env: github
          ? { GITHUB_TOKEN: "gh", GITHUB_API_URL: github.url, GITHUB_REPOSITORY: "acme/billing" }
          : {},
      },
    );
    await github?.close();
    expect(result.code, result.stderr).toBe(0);
    const [group] = ReportSchema.parse(JSON.parse(result.stdout)).groups;
    return { group, shas, requests: github?.requests ?? [] };
  };

  it("names the earlier commit of the deploy that changed the failing line, and its evidence follows it", async () => {
    const { group, shas } = await run(true);
    expect(group?.commitSha).toBe(shas.running);
    expect(group?.introducedBy).toEqual({
      runningSha: shas.running,
      sha: shas.bug,
      range: `${shas.base.slice(0, 7)}..${shas.running.slice(0, 7)}`,
    });
    expect(group?.suspectCommits[0]).toMatchObject({
      sha: shas.bug,
      score: 1,
      issueKey: "BILL-142",
      subject: "Support discount codes (BILL-142)",
    });
    expect(group?.suspectCommits[0]?.reason).toMatch(
      /src\/pricing\.js:7 \(frame #1, applyDiscount\) was last changed by it/,
    );
    expect(group?.commit?.subject).toBe("Support discount codes (BILL-142)");
    expect(group?.suspects[0]).toMatchObject({ commitSha: shas.bug, path: "src/pricing.js", line: 7 });
    expect(group?.analysis).toMatchObject({
      category: "code_regression",
      suspect: { commitSha: shas.bug, path: "src/pricing.js" },
    });
    expect(group?.analysis?.rootCause).toMatch(/earlier commit of the deploy: the service runs/);
  });

  it("does the same through GitHub without a checkout: compare, the tree, and one GraphQL blame per file", async () => {
    const { group, shas, requests } = await run(true, "github");
    expect(group?.introducedBy).toMatchObject({ runningSha: shas.running, sha: shas.bug });
    expect(group?.suspectCommits[0]).toMatchObject({
      sha: shas.bug,
      issueKey: "BILL-142",
      pr: { number: 142 },
    });
    expect(group?.pullRequest?.number).toBe(142);
    expect(group?.suspects[0]).toMatchObject({ commitSha: shas.bug, path: "src/pricing.js", line: 7 });
    expect(requests.some((r) => r.path.includes(`/compare/${shas.base}...${shas.running}`))).toBe(true);
    const blamed = requests
      .filter((r) => r.path.endsWith("/graphql"))
      .map((r) => (JSON.parse(r.body) as { variables: { path: string } }).variables.path);
    expect(blamed.sort()).toEqual(["src/handlers.js", "src/pricing.js"]);
  });

  it("walks back instead when GitHub does not know the previous commit (force-pushed away)", async () => {
    const dir = tempDir();
    const repo = join(dir, "repo");
    mkdirSync(repo);
    const shas = buildRepo(repo);
    const github = await startFakeGitHub({ token: "gh" });
    github.repos.set("acme/billing", loadRepository(repo, "acme", "billing"));
    const gone = "f".repeat(40);
    const spans = jsonLines(
      exportRequest({ "service.name": "billing", "build.commit_sha": gone }, [
        { startMs: T0 - 3_600_000, name: "GET /health" },
      ]),
      exportRequest({ "service.name": "billing", "build.commit_sha": shas.running }, [
        errorSpan(T0 + 3_600_000, "TypeError", "x", STACK),
      ]),
    );
    writeFileSync(join(dir, "spans.jsonl"), spans);
    const result = await runCli(
      [
        "--input",
        join(dir, "spans.jsonl"),
        "--since",
        SINCE,
        "--until",
        UNTIL,
        "--dry-run",
        "--json",
        "--out",
        join(dir, "out"),
      ],
      {
        cwd: dir,
        env: { GITHUB_TOKEN: "gh", GITHUB_API_URL: github.url, GITHUB_REPOSITORY: "acme/billing" },
      },
    );
    await github.close();
    expect(result.code, result.stderr).toBe(0);
    const [group] = ReportSchema.parse(JSON.parse(result.stdout)).groups;
    expect(group?.introducedBy).toBeNull();
    expect(group?.suspectCommits[0]).toMatchObject({ sha: shas.bug });
    expect(group?.evidenceProblems.join(" ")).toMatch(/previous commit is unknown.*a candidate only/);
  });

  it("only lists a candidate when the previous commit is unknown: a walk back is not a deploy", async () => {
    const { group, shas } = await run(false);
    expect(group?.introducedBy).toBeNull();
    expect(group?.suspectCommits[0]).toMatchObject({ sha: shas.bug });
    expect(group?.commit?.subject).toBe("Document the discount codes");
    expect(group?.analysis?.rootCause).toMatch(/^Undetermined/);
    expect(group?.evidenceProblems.join(" ")).toMatch(/previous commit is unknown.*a candidate only/);
  });
});
