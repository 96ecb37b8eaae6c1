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
