import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildDemoRepo } from "../../scripts/demo-repo.ts";
import { parseUnifiedDiff } from "../../src/evidence/diff.ts";
import { createEvidenceGatherer } from "../../src/evidence/gather.ts";
import { CommitNotFoundError, readCommitFromCheckout } from "../../src/evidence/git.ts";
import { Redactor } from "../../src/evidence/redact.ts";
import { pathsMatch, scoreSuspects } from "../../src/evidence/suspects.ts";
import type { SpanSample } from "../../src/grouping/collector.ts";
import { PRICING_STACK } from "../helpers/spans.ts";
import { useTempDirs } from "../helpers/tmp.ts";

const sample = (stacktrace: string, attributes: SpanSample["attributes"] = {}): SpanSample => ({
  traceId: "t",
  spanId: "s",
  name: "POST /x",
  timeMs: 0,
  exceptionType: "TypeError",
  message: "m",
  stacktrace,
  attributes,
});

describe("readCommitFromCheckout", () => {
  const tempDir = useTempDirs();

  it("reads the regression commit of the demo history and its diff against the parent", async () => {
    const dir = tempDir();
    const [, parent, regression] = buildDemoRepo(dir);
    const { commit, diffText } = await readCommitFromCheckout(dir, regression ?? "");
    expect(commit).toMatchObject({
      sha: regression,
      parents: [parent],
      subject: "Support discount codes (BILL-142)",
    });
    const files = parseUnifiedDiff(diffText);
    expect(files.map((f) => [f.path, f.status]).sort()).toEqual([
      ["CHANGELOG.md", "added"],
      ["package.json", "modified"],
      ["src/pricing.js", "modified"],
    ]);
    expect(files.find((f) => f.path === "src/pricing.js")?.hunks[0]?.addedLines).toEqual([5, 7]);
  });

  it("diffs a root commit against the empty tree", async () => {
    const dir = tempDir();
    const [root] = buildDemoRepo(dir);
    const files = parseUnifiedDiff((await readCommitFromCheckout(dir, root ?? "")).diffText);
    expect(files.every((f) => f.status === "added")).toBe(true);
    expect(files.length).toBeGreaterThan(5);
  });

  it("says which commit is missing from which checkout", async () => {
    const dir = tempDir();
    buildDemoRepo(dir);
    await expect(readCommitFromCheckout(dir, "0123456789abcdef0123456789abcdef01234567")).rejects.toThrow(
      /commit 0123456789ab is not in the checkout/,
    );
    await expect(readCommitFromCheckout(dir, "--output=/tmp/x")).rejects.toBeInstanceOf(CommitNotFoundError);
  });
});

describe("parseUnifiedDiff", () => {
  const tempDir = useTempDirs();

  it("keeps renames, deletions and binary files", () => {
    const dir = tempDir();
    const git = (...args: string[]) =>
      execFileSync(
        "git",
        ["-c", "user.name=t", "-c", "user.email=t@e", "-c", "commit.gpgsign=false", ...args],
        { cwd: dir },
      );
    git("init", "-q");
    writeFileSync(join(dir, "old.txt"), "line\n".repeat(30));
    writeFileSync(join(dir, "gone.txt"), "bye\n");
    writeFileSync(join(dir, "logo.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1, 2, 3]));
    git("add", "-A");
    git("commit", "-qm", "one");
    git("mv", "old.txt", "new.txt");
    git("rm", "-q", "gone.txt");
    writeFileSync(join(dir, "logo.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 9, 9, 9]));
    git("add", "-A");
    git("commit", "-qm", "two");
    const diff = execFileSync("git", ["diff-tree", "-p", "-M", "--no-commit-id", "HEAD"], {
      cwd: dir,
      encoding: "utf8",
    });
    const files = parseUnifiedDiff(diff);
    expect(files.find((f) => f.path === "new.txt")).toMatchObject({
      status: "renamed",
      oldPath: "old.txt",
      hunks: [],
    });
    expect(files.find((f) => f.path === "gone.txt")).toMatchObject({ status: "deleted", deletions: 1 });
    expect(files.find((f) => f.path === "logo.png")).toMatchObject({ binary: true, hunks: [] });
  });

  it("returns nothing for an empty diff", () => {
    expect(parseUnifiedDiff("")).toEqual([]);
  });
});

describe("scoreSuspects", () => {
  const diff = parseUnifiedDiff(
    [
      "diff --git a/src/pricing.js b/src/pricing.js",
      "--- a/src/pricing.js",
      "+++ b/src/pricing.js",
      "@@ -4,3 +4,4 @@ export function lineTotal(line) {",
      " ",
      "+// codes",
      " export function applyDiscount(subtotalCents, customer) {",
      "-  const discount = customer.discount;",
      "+  const discount = customer.discounts[customer.discountCode];",
      "diff --git a/src/render.js b/src/render.js",
      "--- a/src/render.js",
      "+++ b/src/render.js",
      "@@ -1,1 +1,1 @@",
      "-const A = 1;",
      "+const A = 2;",
      "",
    ].join("\n"),
  );

  it("ranks the changed line the innermost frame runs through first, with a reason", () => {
    const [top, ...rest] = scoreSuspects("abc", diff, [sample(PRICING_STACK)]);
    expect(top).toMatchObject({ commitSha: "abc", path: "src/pricing.js", line: 7, score: 1 });
    expect(top?.reason).toMatch(
      /stack frame #1 \(applyDiscount at src\/pricing\.js:7\) is on a line this commit changed/,
    );
    // The caller frame (line 14) is in the same file, near but not on the hunk, and deeper.
    expect(rest[0]).toMatchObject({ path: "src/pricing.js", line: 14 });
    expect(rest[0]?.score).toBeLessThan(top?.score ?? 0);
    expect(rest.some((s) => s.path === "src/render.js")).toBe(false);
  });

  it("weighs the root cause's own frames by their depth in that cause, not below every wrapper", () => {
    const javaDiff = parseUnifiedDiff(
      [
        "diff --git a/src/main/java/com/acme/pricing/Rates.java b/src/main/java/com/acme/pricing/Rates.java",
        "--- a/src/main/java/com/acme/pricing/Rates.java",
        "+++ b/src/main/java/com/acme/pricing/Rates.java",
        "@@ -21,3 +21,4 @@",
        "     Rate lookup(String currency) {",
        '+        if (!rates.containsKey(currency)) throw new IllegalStateException("no rate for " + currency);',
        "         return rates.get(currency);",
        "     }",
        "",
      ].join("\n"),
    );
    const wrappers = Array.from(
      { length: 30 },
      (_, i) => `\tat com.acme.web.Filter${i}.doFilter(Filter${i}.java:${10 + i})`,
    );
    const stack = [
      "javax.servlet.ServletException: Request processing failed",
      ...wrappers,
      "Caused by: java.lang.IllegalStateException: no rate for EUR",
      "\tat com.acme.pricing.Rates.lookup(Rates.java:22)",
      "\t... 31 more",
    ].join("\n");
    const [top] = scoreSuspects("abc", javaDiff, [sample(stack)]);
    expect(top).toMatchObject({ path: "src/main/java/com/acme/pricing/Rates.java", line: 22, score: 1 });
    expect(top?.reason).toMatch(/stack frame #1 of the root cause .* is on a line this commit changed/);
  });

  it("does not take a word every message quotes ('null', 'name') for a changed identifier", () => {
    const quoted: SpanSample = { ...sample(""), message: "Cannot read properties of null (reading 'name')" };
    const named = parseUnifiedDiff(
      [
        "diff --git a/src/user.js b/src/user.js",
        "--- a/src/user.js",
        "+++ b/src/user.js",
        "@@ -1,1 +1,1 @@",
        "-const a = 1;",
        "+const name = user.name;",
        "",
      ].join("\n"),
    );
    expect(scoreSuspects("abc", named, [quoted])).toEqual([]);
    const specific: SpanSample = {
      ...quoted,
      message: "Cannot read properties of undefined (reading 'discountCode')",
    };
    const withIdentifier = parseUnifiedDiff(
      [
        "diff --git a/src/user.js b/src/user.js",
        "--- a/src/user.js",
        "+++ b/src/user.js",
        "@@ -1,1 +1,1 @@",
        "-const a = 1;",
        "+const code = user.discountCode;",
        "",
      ].join("\n"),
    );
    expect(scoreSuspects("abc", withIdentifier, [specific])[0]?.reason).toMatch(/names "discountCode"/);
  });

  it("finds nothing when the stack does not touch the diff", () => {
    const stack = "InvoiceNotFoundError: x\n    at findInvoice (/srv/billing/src/store.js:11:11)";
    expect(scoreSuspects("abc", diff, [sample(stack)])).toEqual([]);
  });

  it("never blames library frames even when a vendored path matches", () => {
    const stack = "E\n    at x (/srv/app/node_modules/lib/src/render.js:1:1)";
    expect(scoreSuspects("abc", diff, [sample(stack)])).toEqual([]);
  });

  it("uses code.filepath span attributes as weaker evidence", () => {
    const [s] = scoreSuspects("abc", diff, [
      sample("", { "code.filepath": "/srv/app/src/render.js", "code.lineno": 1 }),
    ]);
    expect(s).toMatchObject({ path: "src/render.js", line: 1, score: 0.5 });
  });

  it("matches paths on whole trailing segments only", () => {
    expect(pathsMatch("/srv/app/src/pricing.js", "src/pricing.js")).toBe(true);
    expect(pathsMatch("/srv/app/src/mypricing.js", "pricing.js")).toBe(false);
    expect(pathsMatch("src/pricing.js", "services/billing/src/pricing.js")).toBe(true);
    expect(pathsMatch("pricing.js", "other/pricing.js")).toBe(false);
  });
});

describe("createEvidenceGatherer", () => {
  const tempDir = useTempDirs();
  const options = (repoDir: string | null) => ({
    repoDir,
    github: null,
    jira: null,
    repositories: { services: {}, defaultRepository: null, githubHost: "github.com" },
    redactor: new Redactor(),
    diffTokenBudget: 12_000,
  });

  it("explains why there is no diff instead of failing", async () => {
    const gather = createEvidenceGatherer(options(null));
    const group = { commitSha: "a".repeat(40), samples: [] } as unknown as Parameters<typeof gather>[0];
    expect((await gather(group)).diffUnavailable).toMatch(/--repo-dir.*GITHUB_TOKEN/);
    const noSha = { commitSha: null, samples: [] } as unknown as Parameters<typeof gather>[0];
    expect((await gather(noSha)).diffUnavailable).toMatch(/build\.commit_sha/);
  });

  it("reads each commit once however many groups share it", async () => {
    const dir = tempDir();
    const [, , regression] = buildDemoRepo(dir);
    const gather = createEvidenceGatherer(options(dir));
    const group = { commitSha: regression, samples: [sample(PRICING_STACK)] } as unknown as Parameters<
      typeof gather
    >[0];
    const [a, b] = await Promise.all([gather(group), gather(group)]);
    expect(a?.commit).toBe(b?.commit);
    expect(a?.suspects[0]?.path).toBe("src/pricing.js");
  });
});

describe("scoreSuspects from span attributes and the error message", () => {
  const diff = parseUnifiedDiff(
    [
      "diff --git a/src/pricing.js b/src/pricing.js",
      "--- a/src/pricing.js",
      "+++ b/src/pricing.js",
      "@@ -1,2 +1,3 @@",
      " export function applyDiscount(total, customer) {",
      "+  const discount = customer.discounts[customer.discountCode];",
      "   return total;",
      "",
    ].join("\n"),
  );

  it("points at an added line that uses an identifier the error message quotes", () => {
    const [s] = scoreSuspects("c", diff, [
      { ...sample(""), message: "Cannot read properties of undefined (reading 'discountCode')" },
    ]);
    expect(s).toMatchObject({ path: "src/pricing.js", line: 2, score: 0.55 });
    expect(s?.reason).toMatch(
      /the error message names "discountCode", which line 2 of src\/pricing\.js adds/,
    );
  });

  it("points at a changed line of the function named by code.function", () => {
    const [s] = scoreSuspects("c", diff, [sample("", { "code.function": "pricing.discounts" })]);
    expect(s).toMatchObject({ path: "src/pricing.js", line: 2, score: 0.5 });
  });
});
