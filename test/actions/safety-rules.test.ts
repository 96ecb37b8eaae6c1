import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { billingRegressionSha } from "../../scripts/demo-repo.ts";
import type { MessagesRequest } from "../fakes/anthropic.ts";
import { userText } from "../fakes/anthropic.ts";
import { FIX, manifest, modelWith, startWorld, type World } from "../harness/world.ts";
import { exportRequest, jsonLines } from "../helpers/otlp.ts";
import { CANARY, CANARY_KEY_BLOCK } from "../helpers/secrets.ts";

/**
 * The README's safety promises, each through the real CLI, the real clients and the fakes, each
 * written so that removing the rule fails the test.
 */
describe("safety rules on a live run", () => {
  let world: World;
  afterEach(() => world.close());
  const pulls = () => world.github.repos.get("acme/billing-service")?.pulls ?? [];
  const tickets = () => [...world.jira.issues.values()].filter((i) => i.key.startsWith("OPS-"));

  it.each([
    ["closed", { merged: false }],
    ["merged, its branch deleted", { merged: true }],
  ])("never opens a second PR when the first was %s", async (_, { merged }) => {
    world = await startWorld();
    await world.night();
    expect(pulls()).toHaveLength(1);
    const first = pulls()[0];
    if (!first) throw new Error("no PR");
    first.state = "closed";
    if (merged) world.github.repos.get("acme/billing-service")?.git?.branches.delete(first.head);
    const again = await world.night();
    expect(pulls()).toHaveLength(1);
    const pr = again.report?.groups.flatMap((g) => g.actions).find((a) => a.kind === "pull_request" && a.url);
    expect(pr).toMatchObject({
      status: "skipped",
      reason: expect.stringMatching(/PR #\d+ \(closed\) already exists/),
    });
  });

  it("applies a patch exactly: a drifted context line is not forgiven", async () => {
    // One context line of the model's patch differs from the file; fuzz would apply it anyway.
    const drifted = FIX.replace(
      " // BILL-142: a customer may carry a discount code",
      " // BILL-142: customers may carry a discount code",
    );
    expect(drifted).not.toBe(FIX);
    world = await startWorld({ respond: modelWith(drifted, 0.9) });
    const night = await world.night();
    expect(pulls()).toHaveLength(0);
    const reasons = night.report?.groups.flatMap((g) => g.actions.map((a) => a.reason ?? "")) ?? [];
    expect(reasons.some((r) => /does not apply cleanly to src\/pricing\.js/.test(r))).toBe(true);
  });

  it("writes nothing under a provisional fingerprint: no ticket, no PR", async () => {
    world = await startWorld();
    // Neither samples nor per-cause counts can be read: fingerprints come from coarse keys only.
    world.signoz.inject(
      {
        kind: "status",
        status: 400,
        body: { status: "error", error: { code: "invalid_input", message: "no" } },
      },
      {
        times: 10_000,
        match: (r) =>
          r.body.includes('"requestType":"raw"') || r.body.includes('"name":"exception.stacktrace"'),
      },
    );
    const night = await world.night();
    expect(night.report?.groups.length).toBeGreaterThan(0);
    expect(tickets()).toHaveLength(0);
    expect(pulls()).toHaveLength(0);
    expect(
      world.jira.requests.filter((r) => r.method === "POST" && r.path === "/rest/api/3/issue"),
    ).toHaveLength(0);
    for (const group of night.report?.groups ?? []) {
      for (const action of group.actions) {
        expect(action.status).toBe("skipped");
        expect(action.reason).toMatch(/fingerprint is provisional/);
      }
    }
  });

  it("keeps every secret out of the model's prompt, and out of what a leaky model writes back", async () => {
    const at = Date.parse(manifest.window.since) + 3_600_000;
    const stack = [
      `TypeError: Cannot read properties of undefined (reading 'SPRING10') for ${CANARY.email}`,
      "    at applyDiscount (/srv/billing-service/src/pricing.js:7:62)",
      `    at handle (/srv/billing-service/src/handlers.js:9:21) token=${CANARY.githubToken}`,
      CANARY_KEY_BLOCK,
    ].join("\n");
    const spans = Array.from({ length: 3 }, (_, i) => ({
      startMs: at + i * 1000,
      status: { code: 2, message: `card ${CANARY.card} declined` },
      attributes: {
        "exception.type": "TypeError",
        "exception.message": `Cannot read properties of undefined (reading 'SPRING10') ${CANARY.jwt}`,
        "exception.stacktrace": stack,
        "aws.access_key": CANARY.awsKey,
        "db.password": CANARY.password,
      },
    }));
    const regression = billingRegressionSha(manifest);
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const spansFile = join(mkdtempSync(join(tmpdir(), "tracefix-leak-")), "spans.jsonl");
    writeFileSync(
      spansFile,
      jsonLines(
        exportRequest(
          {
            "service.name": "billing-service",
            "build.commit_sha": regression,
            "vcs.repository.url.full": "https://github.com/acme/billing-service",
          },
          spans,
        ),
      ),
    );
    // A model that leaks: it repeats its whole prompt and adds secrets of its own to every field,
    // each in a shape a reader would recognise (a bare random word is no one's secret to spot).
    const leak = [
      CANARY.awsKey,
      CANARY.githubToken,
      CANARY.jwt,
      CANARY.email,
      CANARY.card,
      `password=${CANARY.password}`,
      CANARY_KEY_BLOCK,
    ].join(" ");
    const leaky = (request: MessagesRequest) => {
      const answer = modelWith(FIX, 0.9)(request).answer;
      const echo = `${leak} ${userText(request).slice(0, 2_000)}`;
      return {
        answer: {
          ...answer,
          summary: `${answer.summary} ${echo}`,
          rootCause: `${answer.rootCause} ${leak}`,
          evidence: [...answer.evidence, leak],
          violatedCriteria: [leak],
          fix: answer.fix ? { ...answer.fix, rationale: `${answer.fix.rationale} ${leak}` } : null,
        },
      } as unknown as ReturnType<ReturnType<typeof modelWith>>;
    };
    world = await startWorld({ spansFile, respond: leaky });
    const night = await world.night();
    expect(night.report?.groups.length).toBeGreaterThan(0);
    expect(tickets().length).toBeGreaterThan(0);
    expect(pulls()).toHaveLength(1);

    const prompts = world.claude.requests.map((r) => r.body);
    const written = [...world.github.requests, ...world.jira.requests].map(
      (r) => `${r.path}${r.query} ${r.body}`,
    );
    const outputs = [
      JSON.stringify(night.report),
      ...filesUnder(join(world.dir, "night-1")).map((f) => readFileSync(f, "utf8")),
    ];
    expect(prompts.length).toBeGreaterThan(0);
    for (const [name, secret] of Object.entries(CANARY)) {
      for (const text of prompts) expect(text.includes(secret), `${name} reached the model`).toBe(false);
      for (const text of written) expect(text.includes(secret), `${name} reached GitHub or Jira`).toBe(false);
      for (const text of outputs) expect(text.includes(secret), `${name} reached the report`).toBe(false);
    }
    // The PR still carries its marker: the last pass redacts secrets, not identifiers.
    expect(pulls()[0]?.body).toMatch(/<!-- tracefix:fingerprint=[0-9a-f]{16} -->/);
  });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}
