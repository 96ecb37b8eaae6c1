import { describe, expect, it } from "vitest";
import { FINGERPRINT_VERSION, fingerprintFor } from "../../src/grouping/fingerprint.ts";
import { exceptionSpan, PRICING_STACK, span } from "../helpers/spans.ts";

const notFound = (id: string, tenant: number, line: number) =>
  exceptionSpan(
    "InvoiceNotFoundError",
    `invoice ${id} not found for tenant ${tenant}`,
    `InvoiceNotFoundError: invoice ${id}\n    at findInvoice (/srv/billing/src/store.js:${line}:11)\n    at handle (/srv/billing/src/handlers.js:13:14)`,
  );

describe("fingerprintFor", () => {
  it("gives the same slug and fingerprint to the same error with different ids, numbers and lines", () => {
    const a = fingerprintFor(notFound("inv_8f3a2c91", 42, 11));
    const b = fingerprintFor(notFound("inv_0b1c2d3e", 317, 12));
    expect(a.slug).toBe(b.slug);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.grouping).toEqual({
      version: FINGERPRINT_VERSION,
      basis: "derived",
      exceptionType: "InvoiceNotFoundError",
      frame: "findInvoice@src/store.js",
      message: "invoice inv_<id> not found for tenant <num>",
    });
  });

  it("gives a different slug when the first in-app frame differs", () => {
    const a = fingerprintFor(
      exceptionSpan(
        "TypeError",
        "x is undefined",
        "TypeError\n    at applyDiscount (/srv/src/pricing.js:7:1)",
      ),
    );
    const b = fingerprintFor(
      exceptionSpan("TypeError", "x is undefined", "TypeError\n    at lineTotal (/srv/src/pricing.js:2:1)"),
    );
    expect(a.slug).not.toBe(b.slug);
  });

  it("ignores library frames when picking the frame", () => {
    const a = fingerprintFor(exceptionSpan("TypeError", "boom", PRICING_STACK));
    expect(a.grouping.frame).toBe("applyDiscount@src/pricing.js");
    expect(a.slug).toMatch(/^TypeError\.applyDiscount\.[0-9a-f]{8}$/);
  });

  it("uses the service's exception.slug when present", () => {
    const s = exceptionSpan("TypeError", "boom", PRICING_STACK, {
      attributes: { "exception.slug": "pricing.discount-missing" },
    });
    expect(fingerprintFor(s)).toMatchObject({
      slug: "pricing.discount-missing",
      grouping: { basis: "exception.slug" },
    });
  });

  it("keeps an untrusted exception.slug to a safe alphabet and length", () => {
    const s = span({ attributes: { "exception.slug": `a b;rm -rf /\n${"x".repeat(500)}` } });
    const { slug } = fingerprintFor(s);
    expect(slug).toMatch(/^[A-Za-z0-9_.:@/-]+$/);
    expect(slug.length).toBeLessThanOrEqual(120);
  });

  it("keys the fingerprint by slug, commit and service", () => {
    const base = fingerprintFor(notFound("inv_1", 1, 11));
    const otherCommit = fingerprintFor({
      ...notFound("inv_1", 1, 11),
      resource: { "service.name": "billing-service", "build.commit_sha": "d".repeat(40) },
    });
    const otherService = fingerprintFor({
      ...notFound("inv_1", 1, 11),
      resource: { "service.name": "ledger", "build.commit_sha": "c".repeat(40) },
    });
    expect(new Set([base.fingerprint, otherCommit.fingerprint, otherService.fingerprint]).size).toBe(3);
    expect(otherCommit.slug).toBe(base.slug);
  });

  it("reads the commit from the semantic-convention fallback and ignores non-hex values", () => {
    const semconv = span({ resource: { "service.name": "a", "vcs.ref.head.revision": "ABCDEF1234567" } });
    expect(fingerprintFor(semconv).commitSha).toBe("abcdef1234567");
    const bogus = span({ resource: { "service.name": "a", "build.commit_sha": "main; rm -rf /" } });
    expect(fingerprintFor(bogus).commitSha).toBeNull();
  });

  it("groups coding-agent stop failures by reason and repository", () => {
    const agent = (reason: string, repo: string, session: string) =>
      span({
        name: "claude_code.turn.stop_failure",
        attributes: { "error.type": reason, "git.repo": repo, "session.id": session },
        resource: { "service.name": "claude-code" },
      });
    const a = fingerprintFor(agent("rate_limit", "acme/billing", "s1"));
    const b = fingerprintFor(agent("rate_limit", "acme/billing", "s2"));
    const c = fingerprintFor(agent("max_output_tokens", "acme/billing", "s1"));
    const d = fingerprintFor(agent("rate_limit", "acme/ledger", "s1"));
    expect(a.kind).toBe("agent_stop_failure");
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(new Set([a.fingerprint, c.fingerprint, d.fingerprint]).size).toBe(3);
    expect(a.slug).toMatch(/^agent\.rate_limit@/);
  });

  it("treats a failed claude_code.turn.stop as an agent failure with agent.stop_reason as the reason", () => {
    const stop = span({ name: "claude_code.turn.stop", attributes: { "agent.stop_reason": "max_turns" } });
    expect(fingerprintFor(stop)).toMatchObject({
      kind: "agent_stop_failure",
      grouping: { exceptionType: "max_turns" },
    });
  });

  it("falls back to the exception attributes on the span when there is no event", () => {
    const s = span({ attributes: { "exception.type": "KeyError", "exception.message": "'discounts'" } });
    expect(fingerprintFor(s).grouping).toMatchObject({ exceptionType: "KeyError", message: "<str>" });
  });
});
