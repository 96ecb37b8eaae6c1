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

function evidenceFor(
  stack: string,
  type = "TypeError",
  message = "boom",
): {
  group: ReturnType<typeof rankedGroupsOf>[number];
  evidence: Evidence;
} {
  const [group] = rankedGroupsOf([exceptionSpan(type, message, stack)]);
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

  it('says "undetermined", not "no code cause", when the stack misses the diff and nothing else is known', async () => {
    const { group, evidence } = evidenceFor(
      "InvoiceNotFoundError: x\n    at findInvoice (/srv/billing/src/store.js:11:11)",
    );
    const analysis = await analyst.analyse(group, evidence);
    expect(analysis.rootCause).toMatch(/^Undetermined: no changed line of \w+ .* is on the failing stack/);
    expect(analysis.rootCause).toMatch(/touch none of the 1 file\(s\)/);
    expect(analysis.suspect).toBeNull();
    expect(analysis.category).toBe("unknown");
    expect(analysis.confidence).toBeLessThan(0.5);
  });

  it('says "no code cause" when the same error fired on the commit before: it predates the deploy', async () => {
    const { group, evidence } = evidenceFor(
      "InvoiceNotFoundError: x\n    at findInvoice (/srv/billing/src/store.js:11:11)",
    );
    const analysis = await analyst.analyse(group, {
      ...evidence,
      predates: { commitSha: "d".repeat(40), count: 3 },
    });
    expect(analysis.rootCause).toMatch(
      /^No code cause found in this commit: the same error fired 3× on d{12}, which ran before this commit/,
    );
    expect(analysis.evidence).toContain(`the same error fired 3× on the earlier commit ${"d".repeat(12)}`);
  });

  it("does not blame a commit for an error that fired before it, even when it changed the failing line", async () => {
    const { group, evidence: found } = evidenceFor(PRICING_STACK);
    expect(found.suspects[0]?.score).toBe(1);
    const analysis = await analyst.analyse(group, {
      ...found,
      predates: { commitSha: "b".repeat(40), count: 9 },
    });
    expect(analysis.suspect).toBeNull();
    expect(analysis.rootCause).toMatch(
      /^No code cause found in this commit: the same error fired 9× on bbbbbbbbbbbb/,
    );
    expect(analysis.rootCause).toMatch(
      /did change src\/pricing\.js:7, .*may have made the error more frequent, but did not introduce it\.$/,
    );
    expect(analysis.evidence).toContainEqual(expect.stringMatching(/^suspect: stack frame #1/));
  });

  it('says "no code cause" for an infrastructure-shaped error off the diff, and names the shape', async () => {
    const { group, evidence } = evidenceFor(
      "Error: connect ECONNREFUSED 10.0.3.7:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16)",
      "Error",
      "connect ECONNREFUSED 10.0.3.7:5432",
    );
    const analysis = await analyst.analyse(group, evidence);
    expect(analysis).toMatchObject({ category: "infrastructure", suspect: null });
    expect(analysis.rootCause).toMatch(
      /^No code cause found in this commit: the error is infrastructure-shaped \("ECONNREFUSED"/,
    );
  });

  it("names a weak suspect as the closest candidate with its real reason, never as the cause", async () => {
    const { group, evidence } = evidenceFor("TypeError: x\n    at other (/srv/billing/src/pricing.js:40:3)");
    const analysis = await analyst.analyse(group, evidence);
    expect(analysis.suspect).toBeNull();
    expect(analysis.rootCause).toMatch(
      /closest candidate is src\/pricing\.js:40, where a stack frame .*away from the changed lines/,
    );
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
