import { describe, expect, it } from "vitest";
import { applyFilePatches, checkPatch, DEFAULT_GATE, globMatch } from "../../src/actions/gate.ts";
import type { Analysis } from "../../src/analysis/analysis.ts";
import { parseUnifiedDiff } from "../../src/evidence/diff.ts";
import { evidence } from "../helpers/evidence.ts";

const FILE = [
  "export function applyDiscount(total, customer) {",
  "  const discount = customer.discounts[customer.code];",
  "  if (!discount) return total;",
  "  return total;",
  "}",
  "",
].join("\n");
const PATCH = [
  "--- a/src/pricing.js",
  "+++ b/src/pricing.js",
  "@@ -1,3 +1,3 @@",
  " export function applyDiscount(total, customer) {",
  "-  const discount = customer.discounts[customer.code];",
  "+  const discount = customer.discounts?.[customer.code];",
  "   if (!discount) return total;",
  "",
].join("\n");

const analysis = (patch: string | null, confidence = 0.9): Analysis => ({
  analyst: "claude",
  summary: "s",
  rootCause: "r",
  confidence,
  category: "code_regression",
  suspect: null,
  violatedCriteria: [],
  evidence: [],
  investigationSteps: [],
  fix: patch === null ? null : { rationale: "guard", patch },
});
const diffOf = (...paths: string[]) =>
  parseUnifiedDiff(
    paths.map((p) => `diff --git a/${p} b/${p}\n--- a/${p}\n+++ b/${p}\n@@ -1 +1 @@\n-a\n+b\n`).join(""),
  );
const ev = (...paths: string[]) =>
  evidence({ files: diffOf(...paths), repository: "acme/billing", repositorySource: "config" });

function patchFor(path: string, lines = 1): string {
  const removed = Array.from({ length: lines }, (_, i) => `-old ${i}`);
  const added = Array.from({ length: lines }, (_, i) => `+new ${i}`);
  return [`--- a/${path}`, `+++ b/${path}`, `@@ -1,${lines} +1,${lines} @@`, ...removed, ...added, ""].join(
    "\n",
  );
}

describe("checkPatch", () => {
  it("lets a small, confident patch to a file in the commit's diff through", () => {
    const decision = checkPatch(analysis(PATCH), ev("src/pricing.js"), DEFAULT_GATE);
    expect(decision).toMatchObject({ ok: true, files: [{ path: "src/pricing.js" }] });
  });

  it.each([
    ["no patch", analysis(null), ev("src/pricing.js"), /no patch proposed/],
    ["low confidence", analysis(PATCH, 0.6), ev("src/pricing.js"), /confidence 0.6 is below the 0.75/],
    [
      "a workflow file",
      analysis(patchFor(".github/workflows/ci.yml")),
      ev(".github/workflows/ci.yml"),
      /deny-listed path \(\.github\/workflows\/ci\.yml matches \.github\/\*\*\)/,
    ],
    [
      "a lockfile",
      analysis(patchFor("package-lock.json")),
      ev("package-lock.json"),
      /deny-listed path \(package-lock\.json/,
    ],
    [
      "an env file",
      analysis(patchFor("services/api/.env.production")),
      ev("services/api/.env.production"),
      /deny-listed/,
    ],
    ["a key file", analysis(patchFor("certs/server.pem")), ev("certs/server.pem"), /deny-listed/],
    [
      "a path outside the repository",
      analysis(patchFor("../other/x.js")),
      ev("../other/x.js"),
      /outside the repository/,
    ],
    [
      "a file the commit did not change",
      analysis(PATCH),
      ev("src/other.js"),
      /src\/pricing\.js, which the group's commit did not change/,
    ],
    [
      "too many files",
      analysis(["a", "b", "c", "d", "e", "f"].map((f) => patchFor(`src/${f}.js`)).join("")),
      ev(...["a", "b", "c", "d", "e", "f"].map((f) => `src/${f}.js`)),
      /touches 6 files \(limit 5\)/,
    ],
    [
      "too many lines",
      analysis(patchFor("src/big.js", 150)),
      ev("src/big.js"),
      /changes 300 lines \(limit 200\)/,
    ],
  ])("refuses %s", (_, a, e, reason) => {
    const decision = checkPatch(a, e, DEFAULT_GATE);
    expect(decision.ok).toBe(false);
    expect(decision.ok ? "" : decision.reason).toMatch(reason);
  });

  it("never writes to a repository that only a span named", () => {
    const decision = checkPatch(
      analysis(PATCH),
      { ...ev("src/pricing.js"), repositorySource: "span" },
      DEFAULT_GATE,
    );
    expect(decision.ok ? "" : decision.reason).toMatch(/PRs only go to configured repositories/);
  });

  it("honours extra deny-listed paths from the config", () => {
    const decision = checkPatch(analysis(PATCH), ev("src/pricing.js"), {
      ...DEFAULT_GATE,
      denyPaths: ["src/pricing.*"],
    });
    expect(decision.ok ? "" : decision.reason).toMatch(/matches src\/pricing\.\*/);
  });
});

describe("applyFilePatches", () => {
  const files = () => {
    const decision = checkPatch(analysis(PATCH), ev("src/pricing.js"), DEFAULT_GATE);
    if (!decision.ok) throw new Error(decision.reason);
    return decision.files;
  };

  it("applies exactly to the current text", () => {
    const result = applyFilePatches(files(), new Map([["src/pricing.js", FILE]]));
    expect(result).toBeInstanceOf(Map);
    expect((result as Map<string, string>).get("src/pricing.js")).toContain(
      "customer.discounts?.[customer.code]",
    );
  });

  it("refuses when the code has moved (no fuzz)", () => {
    const moved = FILE.replace("customer.discounts[customer.code]", "customer.discountMap[customer.code]");
    expect(applyFilePatches(files(), new Map([["src/pricing.js", moved]]))).toBe(
      "the patch does not apply cleanly to src/pricing.js",
    );
    expect(applyFilePatches(files(), new Map([["src/pricing.js", null]]))).toBe(
      "src/pricing.js does not exist at the base",
    );
  });
});

describe("globMatch", () => {
  it.each([
    [".github/**", ".github/workflows/ci.yml", true],
    ["**/package-lock.json", "package-lock.json", true],
    ["**/package-lock.json", "apps/web/package-lock.json", true],
    ["**/.env.*", "api/.env.local", true],
    ["**/*.pem", "src/pricing.js", false],
    ["Dockerfile", "src/Dockerfile.md", false],
  ])("%s ~ %s → %s", (pattern, path, expected) => {
    expect(globMatch(pattern, path)).toBe(expected);
  });
});

describe("the built-in deny-list", () => {
  // One concrete path per entry, written out here so that dropping an entry fails its row.
  it.each([
    ".github/workflows/ci.yml",
    ".gitlab-ci.yml",
    ".circleci/config.yml",
    "Jenkinsfile",
    "azure-pipelines.yml",
    ".buildkite/pipeline.yml",
    "package-lock.json",
    "web/yarn.lock",
    "apps/site/pnpm-lock.yaml",
    "Cargo.lock",
    "go.sum",
    "poetry.lock",
    "Gemfile.lock",
    "composer.lock",
    ".env",
    "deploy/.env.production",
    "certs/server.pem",
    "keys/signing.key",
    "client.p12",
    "client.pfx",
    "ca/root.crt",
    "ops/id_rsa.pub",
    "k8s/secrets/db.yaml",
    "src/client-secret.js",
    "infra/prod.tfvars",
    ".npmrc",
    ".pypirc",
    "Dockerfile",
    "docker-compose.prod.yml",
    "charts/app/values-prod.yaml",
    "src/config/limits.js",
    "triage.config.json",
  ])("refuses a patch to %s, even when the commit changed it", (path) => {
    const decision = checkPatch(analysis(patchFor(path)), ev(path), DEFAULT_GATE);
    expect(decision).toMatchObject({ ok: false, reason: expect.stringMatching(/deny-listed path/) });
  });
});

describe("checkPatch at its edges", () => {
  const sized = (files: number, lines: number) =>
    analysis(Array.from({ length: files }, (_, i) => patchFor(`src/f${i}.js`, lines)).join(""));
  const evFor = (files: number) => ev(...Array.from({ length: files }, (_, i) => `src/f${i}.js`));

  it("lets confidence equal to the minimum through, and exactly the file and line limits", () => {
    expect(checkPatch(analysis(PATCH, 0.75), ev("src/pricing.js"), DEFAULT_GATE).ok).toBe(true);
    expect(checkPatch(sized(5, 1), evFor(5), DEFAULT_GATE).ok).toBe(true);
    expect(checkPatch(sized(1, 100), evFor(1), DEFAULT_GATE).ok).toBe(true); // 200 changed lines
    expect(checkPatch(sized(1, 101), evFor(1), DEFAULT_GATE)).toMatchObject({ ok: false });
  });

  it("takes a repository from GITHUB_REPOSITORY as configured, and none at all as not", () => {
    expect(
      checkPatch(analysis(PATCH), { ...ev("src/pricing.js"), repositorySource: "env" }, DEFAULT_GATE).ok,
    ).toBe(true);
    const none = checkPatch(
      analysis(PATCH),
      { ...ev("src/pricing.js"), repositorySource: null },
      DEFAULT_GATE,
    );
    expect(none).toMatchObject({ ok: false, reason: expect.stringMatching(/configured repositories/) });
  });

  it("refuses text that is not a diff, and a diff with no hunks", () => {
    expect(checkPatch(analysis("just some prose"), ev("src/pricing.js"), DEFAULT_GATE)).toMatchObject({
      ok: false,
      reason: "the patch changes nothing",
    });
    const headerOnly = "--- a/src/pricing.js\n+++ b/src/pricing.js\n";
    expect(checkPatch(analysis(headerOnly), ev("src/pricing.js"), DEFAULT_GATE)).toMatchObject({
      ok: false,
      reason: "the patch changes nothing",
    });
  });

  it.each([
    ["a new file", "--- /dev/null\n+++ b/src/new.js\n@@ -0,0 +1 @@\n+x\n", "src/new.js"],
    ["a deleted file", "--- a/src/pricing.js\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n", "src/pricing.js"],
    [
      "a rename",
      "--- a/src/pricing.js\n+++ b/src/price.js\n@@ -1 +1 @@\n-x\n+y\n",
      "src/pricing.js,src/price.js",
    ],
  ])("refuses %s: tracefix only edits existing files", (_, patch, paths) => {
    const decision = checkPatch(analysis(patch), ev(...paths.split(",")), DEFAULT_GATE);
    expect(decision).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/creates, deletes or renames files/),
    });
  });

  it.each([
    "/etc/passwd",
    "src\\win.js",
    "C:/x.js",
    "src/../x.js",
    "./src/x.js",
    "src//x.js",
    ".git/config",
    "src/.git/hooks/x",
  ])("refuses %s as outside the repository", (path) => {
    const decision = checkPatch(analysis(patchFor(path)), ev(path), {
      ...DEFAULT_GATE,
      allowPathsOutsideDiff: true,
    });
    expect(decision).toMatchObject({ ok: false, reason: expect.stringMatching(/outside the repository/) });
  });

  it("reads paths with git's a/ b/ prefixes and tab-separated timestamps", () => {
    const patch =
      "--- a/src/pricing.js\t2026-11-20 10:00:00\n+++ b/src/pricing.js\t2026-11-20 10:01:00\n@@ -1 +1 @@\n-a\n+b\n";
    expect(checkPatch(analysis(patch), ev("src/pricing.js"), DEFAULT_GATE)).toMatchObject({
      ok: true,
      files: [{ path: "src/pricing.js" }],
    });
  });

  it("allows a path outside the diff only when configured to", () => {
    const decision = checkPatch(analysis(PATCH), ev("src/other.js"), {
      ...DEFAULT_GATE,
      allowPathsOutsideDiff: true,
    });
    expect(decision.ok).toBe(true);
  });
});

describe("applyFilePatches, exactly", () => {
  const [file] = (() => {
    const decision = checkPatch(analysis(PATCH), ev("src/pricing.js"), DEFAULT_GATE);
    return decision.ok ? decision.files : [];
  })();

  it("refuses a drifted context line that fuzz would forgive", () => {
    const drifted = FILE.replace("  if (!discount) return total;", "  if (!discount) return total; // note");
    expect(applyFilePatches(file ? [file] : [], new Map([["src/pricing.js", drifted]]))).toBe(
      "the patch does not apply cleanly to src/pricing.js",
    );
  });

  it("says when the file is missing at the base, and when the patch changes nothing", () => {
    expect(applyFilePatches(file ? [file] : [], new Map([["src/pricing.js", null]]))).toBe(
      "src/pricing.js does not exist at the base",
    );
    expect(applyFilePatches(file ? [file] : [], new Map())).toBe("src/pricing.js does not exist at the base");
    const noop = {
      path: "src/pricing.js",
      patch:
        "--- a/src/pricing.js\n+++ b/src/pricing.js\n@@ -1,1 +1,1 @@\n export function applyDiscount(total, customer) {\n",
    };
    expect(applyFilePatches([noop], new Map([["src/pricing.js", FILE]]))).toBe(
      "the patch leaves src/pricing.js unchanged",
    );
  });
});

describe("checkPatch on odd patches and paths", () => {
  it("refuses any PR for a kind that never gets one, whatever the patch", () => {
    const group = { kind: "agent_behaviour", behaviour: { signal: "denials" } } as unknown as Parameters<
      typeof checkPatch
    >[3];
    expect(checkPatch(analysis(PATCH), ev("src/pricing.js"), DEFAULT_GATE, group)).toEqual({
      ok: false,
      reason:
        "agent configuration is a person's decision: a guardrail is proposed in the ticket, never as a PR",
    });
  });

  it("says a malformed hunk is not a unified diff", () => {
    const broken = ["--- a/src/pricing.js", "+++ b/src/pricing.js", "@@ -1,3 +1,3 @@", "-a", "+b", ""].join(
      "\n",
    );
    expect(checkPatch(analysis(broken), ev("src/pricing.js"), DEFAULT_GATE)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^the patch is not a unified diff \(.+\)$/),
    });
  });

  it("counts only added and removed lines against the limit, not context lines that hold a dash", () => {
    const patch = [
      "--- a/src/pricing.js",
      "+++ b/src/pricing.js",
      "@@ -1,4 +1,4 @@",
      " // total - discount",
      "-a",
      "+b",
      " x -= 1;",
      " y - z;",
      "",
    ].join("\n");
    expect(
      checkPatch(analysis(patch), ev("src/pricing.js"), { ...DEFAULT_GATE, maxChangedLines: 2 }),
    ).toMatchObject({
      ok: true,
    });
  });

  it("refuses a patch whose file names are missing or both /dev/null", () => {
    const reason = "the patch creates, deletes or renames files; tracefix only edits existing files";
    const nameless = ["@@ -1 +1 @@", "-a", "+b", ""].join("\n");
    expect(checkPatch(analysis(nameless), ev("src/pricing.js"), DEFAULT_GATE)).toEqual({ ok: false, reason });
    const nowhere = ["--- /dev/null", "+++ /dev/null", "@@ -1 +1 @@", "-a", "+b", ""].join("\n");
    expect(checkPatch(analysis(nowhere), ev("src/pricing.js"), DEFAULT_GATE)).toEqual({ ok: false, reason });
  });

  it("strips only the leading a/ and b/ of a path, and ignores a header's timestamp", () => {
    const nested = patchFor("lib/a/util.js").replace(
      "+++ b/lib/a/util.js",
      "+++ b/lib/a/util.js\t2026-11-20 10:00:00",
    );
    expect(checkPatch(analysis(nested), ev("lib/a/util.js"), DEFAULT_GATE)).toMatchObject({
      ok: true,
      files: [{ path: "lib/a/util.js" }],
    });
  });

  it("takes a colon inside a path for part of a name, and a drive letter for outside", () => {
    expect(checkPatch(analysis(patchFor("docs/a:b.md")), ev("docs/a:b.md"), DEFAULT_GATE)).toMatchObject({
      ok: true,
    });
    expect(checkPatch(analysis(patchFor("C:/x.js")), ev("C:/x.js"), DEFAULT_GATE)).toEqual({
      ok: false,
      reason: "the patch reaches outside the repository (C:/x.js)",
    });
    expect(checkPatch(analysis(patchFor("/etc/passwd")), ev("/etc/passwd"), DEFAULT_GATE)).toEqual({
      ok: false,
      reason: "the patch reaches outside the repository (/etc/passwd)",
    });
  });

  it("keeps every hunk of a multi-hunk patch, each on its own lines", () => {
    const file = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join("\n");
    const patch = [
      "--- a/src/pricing.js",
      "+++ b/src/pricing.js",
      "@@ -1,2 +1,2 @@",
      "-line 1",
      "+line one",
      " line 2",
      "@@ -29,2 +29,2 @@",
      " line 29",
      "-line 30",
      "+line thirty",
      "",
    ].join("\n");
    const decision = checkPatch(analysis(patch), ev("src/pricing.js"), DEFAULT_GATE);
    if (!decision.ok) throw new Error(decision.reason);
    const applied = applyFilePatches(decision.files, new Map([["src/pricing.js", file]]));
    expect(applied).toEqual(
      new Map([["src/pricing.js", file.replace("line 1\n", "line one\n").replace("line 30", "line thirty")]]),
    );
  });
});

describe("globMatch at its edges", () => {
  it.each([
    ["Dockerfile", "dockerfile", true],
    ["Dockerfile", "Docker/compose/profile", false],
    ["file?.txt", "file1.txt", true],
    ["file?.txt", "file12.txt", false],
    ["file?.txt", "file/.txt", false],
  ])("%s against %s: %s", (pattern, path, expected) => {
    expect(globMatch(pattern, path)).toBe(expected);
  });
});
