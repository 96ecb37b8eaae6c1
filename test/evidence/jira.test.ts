import { afterEach, describe, expect, it } from "vitest";
import { adfToMarkdown } from "../../src/evidence/adf.ts";
import { issueKeyFor } from "../../src/evidence/issue-key.ts";
import { createJiraClient, createJiraReader, describeJiraError } from "../../src/evidence/jira.ts";
import { adf, type FakeJira, startFakeJira } from "../fakes/jira.ts";

const EMAIL = "triage@acme.example";
const TOKEN = "jira-test-token";

const BILL_142 = {
  key: "BILL-142",
  summary: "Support discount codes",
  status: "Done",
  description: adf("Customers can carry a discount code.", ["Old text in the description"]),
  customFields: {
    customfield_10042: adf("Given a customer with a discount code:", [
      "the invoice total applies the code's percentage",
      "customers without a discounts map are billed at full price",
    ]),
  },
  comments: [
    { author: "Dana Developer", body: adf("Looks good to me") },
    { author: "Claude Code", body: adf("Agent session complete: added discountCode lookup in pricing.js") },
    {
      author: "Dana Developer",
      body: adf("Plan: 1) read customer.discounts 2) fall back to customer.discount"),
    },
  ],
};

describe("Jira evidence through jira.js", () => {
  let fake: FakeJira | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });
  const start = async () => {
    fake = await startFakeJira({ email: EMAIL, token: TOKEN });
    fake.issues.set("BILL-142", BILL_142);
    return fake;
  };
  const reader = (server: FakeJira, field: string | null = "Acceptance Criteria", token = TOKEN) =>
    createJiraReader(
      createJiraClient({ baseUrl: server.url, user: EMAIL, apiToken: token, onSchemaMismatch: "throw" }),
      server.url,
      field,
      2,
    );

  it("reads acceptance criteria from the custom field found by name, and the agent's notes", async () => {
    const server = await start();
    const item = await reader(server).read("BILL-142");
    expect(item).toMatchObject({
      key: "BILL-142",
      summary: "Support discount codes",
      status: "Done",
      criteriaSource: "field",
      url: `${server.url}/browse/BILL-142`,
    });
    expect(item.acceptanceCriteria).toBe(
      "Given a customer with a discount code:\n\n- the invoice total applies the code's percentage\n- customers without a discounts map are billed at full price",
    );
    expect(item.agentNotes).toEqual([
      "Agent session complete: added discountCode lookup in pricing.js",
      "Plan: 1) read customer.discounts 2) fall back to customer.discount",
    ]);
    const issueRequest = server.requests.find((r) => r.path === "/rest/api/3/issue/BILL-142");
    expect(issueRequest).toBeDefined();
  });

  it("falls back to the description when no acceptance field is configured", async () => {
    const item = await reader(await start(), null).read("BILL-142");
    expect(item.criteriaSource).toBe("description");
    expect(item.acceptanceCriteria).toContain("Customers can carry a discount code.");
  });

  it("reads each issue once per run", async () => {
    const server = await start();
    const r = reader(server);
    await Promise.all([r.read("BILL-142"), r.read("BILL-142")]);
    expect(server.requests.filter((q) => q.path === "/rest/api/3/issue/BILL-142")).toHaveLength(1);
    expect(server.requests.filter((q) => q.path === "/rest/api/3/field")).toHaveLength(1);
  });

  it("records a missing issue (404) and a forbidden one (403) in one line each", async () => {
    const server = await start();
    server.issues.set("SEC-1", { key: "SEC-1", summary: "secret", status: "Open", forbidden: true });
    const r = reader(server);
    const missing = await r.read("BILL-999").catch((e: unknown) => e);
    expect(describeJiraError("BILL-999", missing)).toBe("Jira issue BILL-999 not found (404)");
    const forbidden = await r.read("SEC-1").catch((e: unknown) => e);
    expect(describeJiraError("SEC-1", forbidden)).toBe("no permission to read Jira issue SEC-1 (403)");
    const unauthorised = await reader(server, null, "wrong")
      .read("BILL-142")
      .catch((e: unknown) => e);
    expect(describeJiraError("BILL-142", unauthorised)).toBe(
      "no permission to read Jira issue BILL-142 (401)",
    );
  });

  it("waits out a 429 with Retry-After", async () => {
    const server = await start();
    server.inject(
      {
        kind: "status",
        status: 429,
        retryAfterSeconds: 0,
        body: { errorMessages: ["Rate limit exceeded."], errors: {} },
      },
      { pathPrefix: "/rest/api/3/issue/" },
    );
    expect((await reader(server).read("BILL-142")).summary).toBe("Support discount codes");
  });

  it("answers the retired search endpoint with 410 Gone, as Jira Cloud does", async () => {
    const server = await start();
    const response = await fetch(`${server.url}/rest/api/3/search?jql=project=BILL`, {
      headers: { authorization: `Basic ${Buffer.from(`${EMAIL}:${TOKEN}`).toString("base64")}` },
    });
    expect(response.status).toBe(410);
  });
});

describe("issueKeyFor", () => {
  it("prefers the span's issue id, then the PR branch, then the PR title", () => {
    expect(issueKeyFor("BILL-1", "feature/BILL-2-x", "BILL-3 title")).toBe("BILL-1");
    expect(issueKeyFor(null, "feature/BILL-2-discount-codes", "BILL-3 title")).toBe("BILL-2");
    expect(issueKeyFor(null, "fix-things", "Support discount codes (BILL-3)")).toBe("BILL-3");
    expect(issueKeyFor(null, null, null)).toBeNull();
  });
});

describe("adfToMarkdown", () => {
  it("renders headings, marks, links, lists, code, quotes and tables", () => {
    const doc = {
      type: "doc",
      version: 1,
      content: [
        { type: "heading", attrs: { level: 2 }, content: [{ type: "text", text: "Criteria" }] },
        {
          type: "paragraph",
          content: [
            { type: "text", text: "must ", marks: [{ type: "strong" }] },
            { type: "text", text: "apply", marks: [{ type: "code" }] },
            { type: "text", text: " see ", marks: [] },
            {
              type: "text",
              text: "docs",
              marks: [{ type: "link", attrs: { href: "https://docs.example" } }],
            },
          ],
        },
        {
          type: "orderedList",
          content: [
            { type: "listItem", content: [{ type: "paragraph", content: [{ type: "text", text: "one" }] }] },
          ],
        },
        { type: "codeBlock", attrs: { language: "js" }, content: [{ type: "text", text: "x()" }] },
        { type: "blockquote", content: [{ type: "paragraph", content: [{ type: "text", text: "quoted" }] }] },
        {
          type: "table",
          content: [
            {
              type: "tableRow",
              content: [
                {
                  type: "tableCell",
                  content: [{ type: "paragraph", content: [{ type: "text", text: "a" }] }],
                },
                {
                  type: "tableCell",
                  content: [{ type: "paragraph", content: [{ type: "text", text: "b" }] }],
                },
              ],
            },
          ],
        },
        { type: "somethingNew", content: [{ type: "text", text: "still readable" }] },
      ],
    };
    expect(adfToMarkdown(doc)).toBe(
      "## Criteria\n\n**must **`apply` see [docs](https://docs.example)\n\n1. one\n\n```js\nx()\n```\n\n> quoted\n\n| a | b |\n\nstill readable",
    );
    expect(adfToMarkdown(null)).toBe("");
    expect(adfToMarkdown("plain wiki text")).toBe("plain wiki text");
  });
});
