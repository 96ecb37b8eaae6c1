import { afterEach, describe, expect, it } from "vitest";
import { parseUnifiedDiff } from "../../src/evidence/diff.ts";
import { createEvidenceGatherer } from "../../src/evidence/gather.ts";
import { createGitHubClient } from "../../src/evidence/github.ts";
import { Redactor } from "../../src/evidence/redact.ts";
import { repoTree, treeWouldMatter } from "../../src/evidence/repo-tree.ts";
import { appFrames, identifiersIn, scoreSuspects } from "../../src/evidence/suspects.ts";
import type { RankedGroup } from "../../src/grouping/rank.ts";
import { type FakeGitHub, loadRepository, startFakeGitHub } from "../fakes/github.ts";
import { scratchRepo } from "../helpers/git-repo.ts";
import { rankedGroupsOf } from "../helpers/groups.ts";
import { exceptionSpan, spanSample } from "../helpers/spans.ts";
import { useTempDirs } from "../helpers/tmp.ts";

const PATHS = [
  "src/main/java/com/acme/orders/OrderService.java",
  "src/main/java/Main.java",
  "vendor/github.com/lib/pq/conn.go",
  "src/util/index.js",
  "test/util/index.js",
];

const sample = spanSample;

// A retry helper from a shared in-house jar: the package rules call it application code, but it
// is not in this repository, so it must not push the changed frame below it down the list.
const HARNESS_STACK = [
  "java.lang.IllegalArgumentException: quantity must be positive",
  "\tat com.acme.platform.retry.Retrying.call(Retrying.java:88)",
  "\tat com.acme.orders.OrderService.place(OrderService.java:14)",
  "\tat java.base/java.lang.Thread.run(Thread.java:1583)",
].join("\n");
const ORDER_DIFF = parseUnifiedDiff(
  [
    "diff --git a/src/main/java/com/acme/orders/OrderService.java b/src/main/java/com/acme/orders/OrderService.java",
    "--- a/src/main/java/com/acme/orders/OrderService.java",
    "+++ b/src/main/java/com/acme/orders/OrderService.java",
    "@@ -14,1 +14,1 @@",
    "-        check(quantity >= 0);",
    "+        check(quantity > 0);",
    "",
  ].join("\n"),
);

describe("application code is what the repository holds", () => {
  it("matches a frame to the repository's files, and not to vendored ones or files it does not hold", () => {
    const tree = repoTree(PATHS);
    const [service, main, jdk, vendored] = appFrames(
      [
        "\tat com.acme.orders.OrderService.place(OrderService.java:14)",
        "\tat Main.main(Main.java:3)",
        "\tat java.base/java.lang.Thread.run(Thread.java:1583)",
      ].join("\n"),
      null,
    ).concat(
      appFrames(
        "goroutine 1 [running]:\ngithub.com/lib/pq.(*conn).query()\n\t/build/vendor/github.com/lib/pq/conn.go:12 +0x1",
        null,
      ),
    );
    expect(service && tree.owns(service)).toBe(true);
    expect(main && tree.owns(main)).toBe(true); // the default package matches by file name
    expect(jdk).toBeUndefined(); // package rules already drop it
    expect(vendored).toBeUndefined();
    expect(tree.matches("/build/vendor/github.com/lib/pq/conn.go")).toEqual([
      "vendor/github.com/lib/pq/conn.go",
    ]);
    expect(
      tree.owns({
        function: "q",
        file: "/build/vendor/github.com/lib/pq/conn.go",
        line: 1,
        column: null,
        inApp: true,
        causeDepth: 0,
      }),
    ).toBe(false);
    // A bare file name that two directories hold is ambiguous: both are returned.
    expect(tree.matches("index.js").length).toBe(0);
    expect(tree.matches("util/index.js")).toEqual(["src/util/index.js", "test/util/index.js"]);
  });

  it("does not let an in-house library frame outside the repository push a changed frame down", () => {
    const withoutTree = scoreSuspects("c", ORDER_DIFF, [sample(HARNESS_STACK)]);
    const withTree = scoreSuspects("c", ORDER_DIFF, [sample(HARNESS_STACK)], repoTree(PATHS));
    expect(withoutTree[0]?.score).toBe(0.85);
    expect(withTree[0]).toMatchObject({ score: 1, line: 14 });
    expect(withTree[0]?.reason).toMatch(/^stack frame #1 /);
  });

  it("is only worth listing when an unmatched application frame sits above a changed one", () => {
    const changed = ORDER_DIFF.map((f) => f.path);
    expect(treeWouldMatter([appFrames(HARNESS_STACK, null)], changed)).toBe(true);
    const direct =
      "\tat com.acme.orders.OrderService.place(OrderService.java:14)\n\tat com.acme.x.Y.z(Y.java:1)";
    expect(treeWouldMatter([appFrames(direct, null)], changed)).toBe(false);
    expect(treeWouldMatter([appFrames("\tat com.acme.x.Y.z(Y.java:1)", null)], changed)).toBe(false);
    expect(treeWouldMatter([], changed)).toBe(false);
  });
});

describe("identifiers an error message names", () => {
  it("takes quoted words and code-shaped bare words, not common words or exception class names", () => {
    expect(identifiersIn("Cannot read properties of undefined (reading 'discountCode')")).toEqual([
      "discountCode",
    ]);
    expect(identifiersIn("KeyError: 'name'")).toEqual([]);
    expect(identifiersIn("entry 8812: total_cents 1000 != 1100 after applyDiscount")).toEqual([
      "total_cents",
      "applyDiscount",
    ]);
    expect(identifiersIn("NullPointerException in OrderService while IllegalStateException")).toEqual([
      "OrderService",
    ]);
    expect(identifiersIn("GET /api/v1/order_items failed at https://x.example/user_id")).toEqual([]);
  });
});

describe("the gatherer lists the commit's tree only when it can change the suspects", () => {
  const tempDir = useTempDirs();
  let fake: FakeGitHub | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  const setUp = async (treeEntryLimit?: number) => {
    const dir = tempDir();
    const { commit } = scratchRepo(dir);
    const path = "src/main/java/com/acme/orders/OrderService.java";
    const lines = Array.from({ length: 20 }, (_, i) => `        // line ${i + 1}`);
    commit("Orders", { [path]: `${lines.join("\n")}\n`, "README.md": "# orders\n" });
    lines[13] = "        check(quantity > 0);";
    const sha = commit("Positive quantities (ORD-5)", { [path]: `${lines.join("\n")}\n` });
    fake = await startFakeGitHub({ token: "gh" });
    const repo = loadRepository(dir, "acme", "orders");
    if (treeEntryLimit !== undefined) repo.treeEntryLimit = treeEntryLimit;
    fake.repos.set("acme/orders", repo);
    const gather = createEvidenceGatherer({
      repoDir: null,
      github: createGitHubClient({
        token: "gh",
        apiUrl: fake.url,
        timeoutMs: 5_000,
        retries: 0,
        retryAfterBaseMs: 10,
      }),
      jira: null,
      repositories: {
        services: { orders: { repo: "acme/orders" } },
        defaultRepository: null,
        githubHost: "github.com",
      },
      redactor: new Redactor(),
      diffTokenBudget: 12_000,
    });
    const group = (stack: string): RankedGroup => {
      const [first] = rankedGroupsOf([
        exceptionSpan("java.lang.IllegalArgumentException", "quantity must be positive", stack, {
          resource: { "service.name": "orders", "build.commit_sha": sha },
        }),
      ]);
      if (!first) throw new Error("no group");
      return first;
    };
    const trees = () => fake?.requests.filter((r) => r.path.includes("/git/trees/")).length ?? 0;
    return { gather, group, trees };
  };

  it("reads the tree through GitHub when a frame above the changed one is not the repository's", async () => {
    const { gather, group, trees } = await setUp();
    const evidence = await gather(group(HARNESS_STACK));
    expect(trees()).toBe(1);
    expect(evidence.suspects[0]).toMatchObject({ score: 1, line: 14 });
    expect(evidence.problems).toEqual([]);
  });

  it("does not read it when the top application frame is on the change", async () => {
    const { gather, group, trees } = await setUp();
    const evidence = await gather(group("\tat com.acme.orders.OrderService.place(OrderService.java:14)"));
    expect(trees()).toBe(0);
    expect(evidence.suspects[0]?.score).toBe(1);
  });

  it("falls back to the package rules, and says so, when GitHub truncates the listing", async () => {
    const { gather, group, trees } = await setUp(1);
    const evidence = await gather(group(HARNESS_STACK));
    expect(trees()).toBe(1);
    expect(evidence.suspects[0]?.score).toBe(0.85);
    expect(evidence.problems).toEqual([
      expect.stringMatching(/told from library frames by package names: .*too large for one listing/),
    ]);
  });
});
