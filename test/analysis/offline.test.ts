import { describe, expect, it } from "vitest";
import { AnalysisSchema } from "../../src/analysis/analysis.ts";
import { OfflineAnalyst } from "../../src/analysis/offline.ts";
import { parseUnifiedDiff } from "../../src/evidence/diff.ts";
import type { Evidence } from "../../src/evidence/gather.ts";
import { scoreSuspects } from "../../src/evidence/suspects.ts";
import { evidence } from "../helpers/evidence.ts";
import { rankedGroupsOf } from "../helpers/groups.ts";
import { exceptionSpan, PRICING_STACK, span } from "../helpers/spans.ts";

const DIFF = parseUnifiedDiff(
  [
    "diff --git a/src/pricing.js b/src/pricing.js",
    "--- a/src/pricing.js",
    "+++ b/src/pricing.js",
    "@@ -6,2 +6,2 @@",
    " export function applyDiscount(subtotalCents, customer) {",
    "-  const discount = customer.discount;",
    "+  const discount = customer.discounts[customer.discountCode];",
    "",
  ].join("\n"),
);
const COMMIT = {
  sha: "c".repeat(40),
  parents: [],
  author: "Dana",
  authoredAt: "2026-11-20T05:30:00Z",
  subject: "Support discount codes",
};

function evidenceFor(stack: string): {
  group: ReturnType<typeof rankedGroupsOf>[number];
  evidence: Evidence;
} {
  const [group] = rankedGroupsOf([exceptionSpan("TypeError", "boom", stack)]);
  if (!group) throw new Error("no group");
  return {
    group,
    evidence: evidence({
      commit: COMMIT,
      files: DIFF,
      suspects: scoreSuspects(COMMIT.sha, DIFF, group.samples),
    }),
  };
}

describe("OfflineAnalyst", () => {
  const analyst = new OfflineAnalyst();

  it("names the commit and the changed line when the stack runs through the diff", async () => {
    const { group, evidence } = evidenceFor(PRICING_STACK);
    const analysis = await analyst.analyse(group, evidence);
    expect(AnalysisSchema.parse(analysis)).toEqual(analysis);
    expect(analysis).toMatchObject({
      analyst: "offline",
      category: "code_regression",
      suspect: { commitSha: COMMIT.sha, path: "src/pricing.js", line: 7 },
      fix: null,
    });
    expect(analysis.confidence).toBeGreaterThanOrEqual(0.8);
    expect(analysis.rootCause).toContain("Support discount codes");
  });

  it('says "no code cause found in this commit" when the stack does not touch the diff', async () => {
    const { group, evidence } = evidenceFor(
      "InvoiceNotFoundError: x\n    at findInvoice (/srv/billing/src/store.js:11:11)",
    );
    const analysis = await analyst.analyse(group, evidence);
    expect(analysis.rootCause).toMatch(/^No code cause found in this commit/);
    expect(analysis.suspect).toBeNull();
    expect(analysis.category).toBe("unknown");
    expect(analysis.confidence).toBeLessThan(0.5);
  });

  it("is honest about having no diff to compare", async () => {
    const { group } = evidenceFor(PRICING_STACK);
    const analysis = await analyst.analyse(group, evidence({ diffUnavailable: "no checkout" }));
    expect(analysis.rootCause).toMatch(/Undetermined.*no checkout/);
    expect(analysis.confidence).toBeLessThanOrEqual(0.1);
  });

  it("explains agent stop failures without blaming code", async () => {
    const [group] = rankedGroupsOf([
      span({
        name: "claude_code.turn.stop_failure",
        attributes: { "error.type": "rate_limit", "git.repo": "acme/billing" },
      }),
    ]);
    if (!group) throw new Error("no group");
    const analysis = await analyst.analyse(group, evidence({ diffUnavailable: "none" }));
    expect(analysis).toMatchObject({ category: "infrastructure", suspect: null, fix: null });
    expect(analysis.rootCause).toMatch(/^No code cause: the model API rate-limited the agent/);
  });

  it("never proposes a patch, whatever the evidence", async () => {
    for (const stack of [PRICING_STACK, "", "E\n    at x (/a/b.js:1:1)"]) {
      const { group, evidence } = evidenceFor(stack);
      expect((await analyst.analyse(group, evidence)).fix).toBeNull();
    }
  });
});
