import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { billingRegressionSha, buildDemoRepo, readDemoManifest } from "../../scripts/demo-repo.ts";
import type { ActionInput } from "../../src/actions/action.ts";
import { DEFAULT_GATE } from "../../src/actions/gate.ts";
import {
  classifyJiraFailure,
  fingerprintLabel,
  type IncidentSettings,
  linkPullRequest,
  upsertIncident,
} from "../../src/actions/incident.ts";
import { LiveSink } from "../../src/actions/live-sink.ts";
import {
  classifyGitHubFailure,
  type DraftPullRequest,
  openDraftPullRequest,
} from "../../src/actions/pull-request.ts";
import type { Analysis } from "../../src/analysis/analysis.ts";
import { adfToMarkdown } from "../../src/evidence/adf.ts";
import { parseUnifiedDiff } from "../../src/evidence/diff.ts";
import { readCommitFromCheckout } from "../../src/evidence/git.ts";
import { createGitHubClient, type GitHubClient } from "../../src/evidence/github.ts";
import { createJiraClient, type JiraClient } from "../../src/evidence/jira.ts";
import { Redactor } from "../../src/evidence/redact.ts";
import { type FakeGitHub, type FakeRepo, loadRepository, startFakeGitHub } from "../fakes/github.ts";
import { adf, type FakeJira, startFakeJira } from "../fakes/jira.ts";
import { FIX } from "../harness/world.ts";
import { evidence } from "../helpers/evidence.ts";
import { rankedGroupsOf } from "../helpers/groups.ts";
import { exceptionSpan, PRICING_STACK } from "../helpers/spans.ts";
import { useTempDirs } from "../helpers/tmp.ts";

/**
 * The write paths of the sink, in process (so mutation testing sees them), through Octokit and
 * jira.js against the fakes. Overlapping runs are made exact with the fakes' `before` fault: the
 * other run's writes complete right before ours reach the server.
 */
const REGRESSION = billingRegressionSha(readDemoManifest());
const REPO = { owner: "acme", repo: "billing-service" };
const SETTINGS: IncidentSettings = {
  project: "OPS",
  issueType: "Bug",
  baseUrl: "https://acme.atlassian.net",
  runId: "2026-11-21T06:00:00Z/abcd1234",
  confirmLooksMs: [10, 30],
};

describe("the sink's writes, in process", () => {
  const tempDir = useTempDirs();
  let github: FakeGitHub;
  let jira: FakeJira;
  let octokit: GitHubClient;
  let jiraClient: JiraClient;
  let input: ActionInput;

  // The demo repository is built and read once; each test gets its own copy of its objects.
  let template: FakeRepo;
  let found: Awaited<ReturnType<typeof readCommitFromCheckout>>;
  beforeAll(async () => {
    const repoDir = join(tempDir(), "repo");
    buildDemoRepo(repoDir);
    template = loadRepository(repoDir, "acme", "billing-service");
    found = await readCommitFromCheckout(repoDir, REGRESSION);
  });

  beforeEach(async () => {
    github = await startFakeGitHub({ token: "gh" });
    github.repos.set("acme/billing-service", structuredClone(template));
    jira = await startFakeJira({ email: "triage@acme.example", token: "jt" });
    jira.issues.set("BILL-142", {
      key: "BILL-142",
      summary: "Discount codes",
      status: "Done",
      description: adf("Codes apply discounts"),
    });
    octokit = createGitHubClient({
      token: "gh",
      apiUrl: github.url,
      timeoutMs: 2_000,
      retries: 1,
      retryAfterBaseMs: 5,
      throttle: false,
    });
    jiraClient = createJiraClient({
      baseUrl: jira.url,
      user: "triage@acme.example",
      apiToken: "jt",
      onSchemaMismatch: "throw",
    });
    const { commit, diffText } = found;
    const [group] = rankedGroupsOf([
      exceptionSpan("TypeError", "Cannot read properties of undefined (reading 'SPRING10')", PRICING_STACK, {
        resource: { "service.name": "billing-service", "build.commit_sha": REGRESSION },
        attributes: { "work_tracker.issue_id": "BILL-142" },
      }),
    ]);
    if (!group) throw new Error("no group");
    input = {
      group,
      analysis: analysis(0.9),
      evidence: evidence({
        repository: "acme/billing-service",
        repositorySource: "config",
        commit,
        files: parseUnifiedDiff(diffText),
      }),
      traceLinks: ["https://signoz.example/trace/1"],
    };
  });
  afterEach(async () => {
    await Promise.all([github.close(), jira.close()]);
  });

  const pulls = () => github.repos.get("acme/billing-service")?.pulls ?? [];
  const writes = (server: FakeGitHub | FakeJira) => server.requests.filter((r) => r.method !== "GET");
  const draft = (over: Partial<DraftPullRequest> = {}): DraftPullRequest => ({
    repo: REPO,
    fingerprint: input.group.fingerprint,
    title: "fix(billing-service): guard a missing discount",
    body: "the body",
    labels: ["tracefix"],
    files: [{ path: "src/pricing.js", patch: FIX }],
    confirmLooksMs: [10, 30],
    ...over,
  });
  const tickets = () => [...jira.issues.values()].filter((i) => i.key.startsWith("OPS-"));

  describe("the draft PR", () => {
    it("opens one draft PR on triage/<fingerprint> with its labels, and reports the existing one after", async () => {
      const first = await openDraftPullRequest(octokit, draft());
      expect(first).toMatchObject({ kind: "pull_request", status: "created" });
      // Four writes: the branch, one commit of the patched files (GraphQL), the pull, its labels.
      expect(
        writes(github).map((r) => `${r.method} ${r.path.replace(/^\/repos\/acme\/billing-service/, "")}`),
      ).toEqual([
        "POST /git/refs",
        "POST /graphql",
        "POST /pulls",
        `POST /issues/${pulls()[0]?.number}/labels`,
      ]);
      expect(first.reason).toBe(`draft PR #${pulls()[0]?.number} on triage/${input.group.fingerprint}`);
      expect(pulls()).toEqual([
        expect.objectContaining({
          draft: true,
          head: `triage/${input.group.fingerprint}`,
          labels: ["tracefix"],
        }),
      ]);
      const again = await openDraftPullRequest(octokit, draft());
      expect(again).toMatchObject({
        status: "skipped",
        url: pulls()[0]?.html_url,
        reason: `PR #${pulls()[0]?.number} (open) already exists for this fingerprint; tracefix never opens a second one`,
      });
      expect(pulls()).toHaveLength(1);
    });

    it("opens no second PR when another run wins the branch between our check and our write", async () => {
      github.inject(
        { kind: "before", run: () => openDraftPullRequest(octokit, draft()) },
        { match: (r) => r.method === "POST" && r.path.endsWith("/git/refs"), times: 1 },
      );
      const ours = await openDraftPullRequest(octokit, draft());
      expect(pulls()).toHaveLength(1);
      expect(ours).toMatchObject({ status: "skipped", reason: expect.stringMatching(/already exists/) });
    });

    it("opens no second PR when another run wins the pull request itself", async () => {
      github.inject(
        { kind: "before", run: () => openDraftPullRequest(octokit, draft()) },
        { match: (r) => r.method === "POST" && r.path.endsWith("/pulls"), times: 1 },
      );
      const ours = await openDraftPullRequest(octokit, draft());
      expect(pulls()).toHaveLength(1);
      expect(ours).toMatchObject({ status: "skipped", url: pulls()[0]?.html_url });
    });

    it("never writes over a branch that holds someone else's commit", async () => {
      const git = github.repos.get("acme/billing-service")?.git;
      const main = git?.branches.get("main") ?? "";
      const wip = "e".repeat(40);
      git?.commits.set(wip, {
        tree: git.commits.get(main)?.tree ?? "",
        message: "WIP by dana",
        parents: [main],
      });
      git?.branches.set(`triage/${input.group.fingerprint}`, wip);
      const result = await openDraftPullRequest(octokit, draft());
      expect(result).toEqual({
        kind: "pull_request",
        status: "skipped",
        reason: `branch triage/${input.group.fingerprint} exists with commits tracefix did not make; it is never force-pushed`,
      });
      expect(pulls()).toHaveLength(0);
    });

    it("reuses its own branch left by a run that died before the PR", async () => {
      github.inject(
        { kind: "status", status: 422, body: { message: "Validation Failed" } },
        {
          match: (r) => r.method === "POST" && r.path.endsWith("/pulls"),
          times: 1,
        },
      );
      await expect(openDraftPullRequest(octokit, draft())).rejects.toMatchObject({ status: 422 });
      const refsBefore = writes(github).filter((r) => r.path.endsWith("/git/refs")).length;
      const result = await openDraftPullRequest(octokit, draft());
      expect(result.status).toBe("created");
      expect(writes(github).filter((r) => r.path.endsWith("/git/refs")).length).toBe(refsBefore);
      expect(pulls()).toHaveLength(1);
    });

    it("finds the PR whose create reply was lost instead of opening another", async () => {
      github.inject(
        { kind: "lost", reply: "502" },
        {
          match: (r) => r.method === "POST" && r.path.endsWith("/pulls"),
          times: 1,
        },
      );
      const result = await openDraftPullRequest(octokit, draft());
      expect(result).toMatchObject({
        status: "created",
        reason: expect.stringMatching(/the reply was lost; found by its branch\)$/),
      });
      expect(pulls()).toHaveLength(1);
    });

    it("refuses when the code has moved on since the patch was written", async () => {
      const moved = FIX.replace("if (!discount) return subtotalCents;", "if (!discount) return 0;");
      const result = await openDraftPullRequest(
        octokit,
        draft({ files: [{ path: "src/pricing.js", patch: moved }] }),
      );
      expect(result).toMatchObject({
        status: "skipped",
        reason: expect.stringMatching(/the code has moved on$/),
      });
      expect(writes(github)).toEqual([]);
    });

    it("still reports the PR when only its labels fail", async () => {
      github.inject(
        { kind: "status", status: 403, body: { message: "Resource not accessible" } },
        {
          match: (r) => r.method === "POST" && r.path.endsWith("/labels"),
          times: 1,
        },
      );
      const result = await openDraftPullRequest(octokit, draft());
      expect(result).toMatchObject({
        status: "created",
        url: pulls()[0]?.html_url,
        reason: expect.stringMatching(/^draft PR #\d+ opened; labels not added \(/),
      });
      expect(await openDraftPullRequest(octokit, draft({ labels: [] }))).toMatchObject({ status: "skipped" });
    });
  });

  describe("the draft PR at its edges", () => {
    const git = () => {
      const store = github.repos.get("acme/billing-service")?.git;
      if (!store) throw new Error("no git store");
      return store;
    };
    const branch = () => `triage/${input.group.fingerprint}`;

    it("commits the patched file, and only it, on top of the default branch, with its marker", async () => {
      const base = git().branches.get("main") ?? "";
      await openDraftPullRequest(octokit, draft());
      const head = git().commits.get(git().branches.get(branch()) ?? "");
      expect(head?.parents).toEqual([base]);
      expect(head?.message).toBe(
        `fix(billing-service): guard a missing discount\n\ntracefix-fingerprint: ${input.group.fingerprint}`,
      );
      const before = git().trees.get(git().commits.get(base)?.tree ?? "");
      const after = git().trees.get(head?.tree ?? "");
      const changed = [...(after?.keys() ?? [])].filter((path) => after?.get(path) !== before?.get(path));
      expect(changed).toEqual(["src/pricing.js"]);
      expect(after?.get("src/pricing.js")).toContain("customer.discounts?.[customer.discountCode]");
    });

    it("uses a branch a dead run left at the default branch's head, or fast-forwards one left further back", async () => {
      const main = git().branches.get("main") ?? "";
      const older = git().commits.get(main)?.parents[0] ?? "";
      git().branches.set(branch(), older);
      expect(await openDraftPullRequest(octokit, draft())).toMatchObject({ status: "created" });
      expect(git().commits.get(git().branches.get(branch()) ?? "")?.parents).toEqual([main]);
      expect(writes(github).filter((r) => r.method === "PATCH")).toHaveLength(1);
    });

    it("counts a commit another run made first as done, when the branch moved under this one", async () => {
      github.inject(
        { kind: "before", run: () => openDraftPullRequest(octokit, draft()) },
        { match: (r) => r.method === "POST" && r.path === "/graphql" },
      );
      expect(await openDraftPullRequest(octokit, draft())).toMatchObject({ status: "skipped" });
      expect(pulls()).toHaveLength(1);
    });

    it("finds the commit whose reply was lost on the branch, and commits once", async () => {
      github.inject(
        { kind: "lost", reply: "502" },
        { match: (r) => r.method === "POST" && r.path === "/graphql" },
      );
      expect(await openDraftPullRequest(octokit, draft())).toMatchObject({ status: "created" });
      const commits = writes(github).filter((r) => r.path === "/graphql");
      expect(commits).toHaveLength(1);
    });

    it("commits onto a branch a dead run left at the default branch's head", async () => {
      const main = git().branches.get("main") ?? "";
      git().branches.set(branch(), main);
      expect(await openDraftPullRequest(octokit, draft())).toMatchObject({ status: "created" });
      const head = git().commits.get(git().branches.get(branch()) ?? "");
      expect(head?.parents).toEqual([main]);
      expect(head?.message).toContain(`tracefix-fingerprint: ${input.group.fingerprint}`);
    });

    it("writes the commit again when its write surely did not land, so the PR is never empty", async () => {
      github.inject(
        { kind: "status", status: 502, body: { message: "Bad Gateway" } },
        {
          match: (r) => r.method === "POST" && r.path === "/graphql",
        },
      );
      expect(await openDraftPullRequest(octokit, draft())).toMatchObject({ status: "created" });
      expect(github.requests.filter((r) => r.path === "/graphql")).toHaveLength(2);
      const head = git().commits.get(git().branches.get(branch()) ?? "");
      expect(head?.message).toContain(`tracefix-fingerprint: ${input.group.fingerprint}`);
    });

    it("gives up at once when someone else's commit moved the branch under this run's", async () => {
      github.inject(
        {
          kind: "before",
          run: async () => {
            const head = git().branches.get(branch()) ?? "";
            const wip = "c".repeat(40);
            git().commits.set(wip, {
              tree: git().commits.get(head)?.tree ?? "",
              message: "WIP",
              parents: [head],
            });
            git().branches.set(branch(), wip);
          },
        },
        { match: (r) => r.method === "POST" && r.path === "/graphql" },
      );
      await expect(openDraftPullRequest(octokit, draft())).rejects.toMatchObject({
        errors: [expect.objectContaining({ type: "STALE_DATA" })],
      });
      expect(github.requests.filter((r) => r.path === "/graphql")).toHaveLength(1);
      expect(pulls()).toHaveLength(0);
    });

    it("finds its own PR, not another fingerprint's, when the create reply was lost", async () => {
      await openDraftPullRequest(octokit, draft({ fingerprint: "0000000000000001" }));
      github.inject(
        { kind: "lost", reply: "502" },
        { match: (r) => r.method === "POST" && r.path.endsWith("/pulls") },
      );
      const result = await openDraftPullRequest(octokit, draft());
      const ours = pulls().find((p) => p.head === branch());
      expect(result).toMatchObject({ kind: "pull_request", status: "created", url: ours?.html_url });
      expect(pulls()).toHaveLength(2);
    });

    it("never opens a second PR when the first was closed", async () => {
      await openDraftPullRequest(octokit, draft());
      const first = pulls()[0];
      if (first) first.state = "closed";
      expect(await openDraftPullRequest(octokit, draft())).toMatchObject({
        kind: "pull_request",
        status: "skipped",
        reason: expect.stringMatching(/^PR #\d+ \(closed\) already exists/),
      });
      expect(pulls()).toHaveLength(1);
    });

    it("is not put off by another fingerprint's PR", async () => {
      await openDraftPullRequest(octokit, draft({ fingerprint: "0000000000000001" }));
      expect(await openDraftPullRequest(octokit, draft())).toMatchObject({ status: "created" });
      expect(pulls()).toHaveLength(2);
    });

    it("takes a branch commit that only mentions the fingerprint for someone else's", async () => {
      const main = git().branches.get("main") ?? "";
      const sha = "f".repeat(40);
      git().commits.set(sha, {
        tree: git().commits.get(main)?.tree ?? "",
        message: `Manual fix for ${input.group.fingerprint}`,
        parents: [main],
      });
      git().branches.set(branch(), sha);
      expect(await openDraftPullRequest(octokit, draft())).toMatchObject({
        status: "skipped",
        reason: expect.stringMatching(/with commits tracefix did not make/),
      });
    });

    it("backs off when someone else's branch appears while this run creates it", async () => {
      const main = git().branches.get("main") ?? "";
      const wip = "d".repeat(40);
      github.inject(
        {
          kind: "before",
          run: async () => {
            git().commits.set(wip, {
              tree: git().commits.get(main)?.tree ?? "",
              message: "WIP",
              parents: [main],
            });
            git().branches.set(branch(), wip);
          },
        },
        { match: (r) => r.method === "POST" && r.path.endsWith("/git/refs") },
      );
      expect(await openDraftPullRequest(octokit, draft())).toEqual({
        kind: "pull_request",
        status: "skipped",
        reason: `branch ${branch()} appeared while this run was creating it`,
      });
      expect(pulls()).toHaveLength(0);
    });

    it.each([
      [
        "the branch",
        (r: { method: string; path: string }) => r.method === "POST" && r.path.endsWith("/git/refs"),
      ],
      [
        "the pull request",
        (r: { method: string; path: string }) => r.method === "POST" && r.path.endsWith("/pulls"),
      ],
      [
        "the branch lookup",
        (r: { method: string; path: string }) =>
          r.method === "GET" && decodeURIComponent(r.path).includes("/git/ref/heads/triage"),
      ],
    ])("fails instead of guessing when GitHub refuses %s outright", async (_, match) => {
      github.inject(
        { kind: "status", status: 403, body: { message: "Resource not accessible by integration" } },
        { match },
      );
      await expect(openDraftPullRequest(octokit, draft())).rejects.toMatchObject({ status: 403 });
      expect(pulls()).toHaveLength(0);
    });

    it("adds no labels when there are none to add", async () => {
      await openDraftPullRequest(octokit, draft({ labels: [] }));
      expect(writes(github).filter((r) => r.path.endsWith("/labels"))).toEqual([]);
    });

    it("reports the labels' failure in its reason, with GitHub's message", async () => {
      github.inject(
        { kind: "status", status: 403, body: { message: "Resource not accessible" } },
        {
          match: (r) => r.method === "POST" && r.path.endsWith("/labels"),
        },
      );
      const result = await openDraftPullRequest(octokit, draft());
      expect(result).toEqual({
        kind: "pull_request",
        status: "created",
        url: pulls()[0]?.html_url,
        reason: expect.stringMatching(/^draft PR #\d+ opened; labels not added \(Resource not accessible/),
      });
    });

    it("finds the PR whose create reply was unreadable by its branch", async () => {
      github.inject({ kind: "truncate" }, { match: (r) => r.method === "POST" && r.path.endsWith("/pulls") });
      expect(await openDraftPullRequest(octokit, draft())).toMatchObject({
        status: "created",
        reason: expect.stringMatching(/found by its branch\)$/),
      });
      expect(pulls()).toHaveLength(1);
    });

    it("refuses a patch to a file the default branch no longer has", async () => {
      const patch = FIX.replaceAll("src/pricing.js", "src/gone.js");
      expect(await openDraftPullRequest(octokit, draft({ files: [{ path: "src/gone.js", patch }] }))).toEqual(
        {
          kind: "pull_request",
          status: "skipped",
          reason: "src/gone.js does not exist at the base at the head of main; the code has moved on",
        },
      );
    });

    it("sorts GitHub's failures into refused, surely not applied and maybe applied", async () => {
      const once = createGitHubClient({
        token: "gh",
        apiUrl: github.url,
        timeoutMs: 2_000,
        retries: 0,
        throttle: false,
      });
      const failure = async (fault: Parameters<FakeGitHub["inject"]>[0]) => {
        github.inject(fault, { match: (r) => r.path === "/repos/acme/billing-service" });
        return once.rest.repos.get(REPO).then(
          () => null,
          (error: unknown) => classifyGitHubFailure(error),
        );
      };
      expect(await failure({ kind: "status", status: 429, retryAfterSeconds: 2 })).toEqual({
        kind: "not_applied",
        waitMs: 2_000,
      });
      expect(await failure({ kind: "status", status: 429 })).toEqual({ kind: "not_applied", waitMs: 1_000 });
      expect(await failure({ kind: "status", status: 500 })).toEqual({ kind: "ambiguous" });
      expect(await failure({ kind: "status", status: 422 })).toEqual({ kind: "final" });
      expect(await failure({ kind: "reset" })).toEqual({ kind: "ambiguous" });
    });
  });

  describe("the incident ticket", () => {
    it("creates one ticket with the fingerprint label, linked to the work item, then comments on later nights", async () => {
      const first = await upsertIncident(jiraClient, SETTINGS, input, "none: confidence too low");
      expect(first.result).toMatchObject({
        kind: "incident",
        status: "created",
        url: `https://acme.atlassian.net/browse/${first.key}`,
        reason: `${first.key} created`,
      });
      expect(tickets()).toHaveLength(1);
      expect(tickets()[0]?.labels).toEqual(["tracefix", `tracefix-${input.group.fingerprint}`]);
      expect(fingerprintLabel(input.group.fingerprint)).toBe(`tracefix-${input.group.fingerprint}`);
      const linkWrites = writes(jira).filter((r) => r.path.endsWith("/issueLink"));
      expect(linkWrites.map((r) => JSON.parse(r.body))).toEqual([
        { type: { name: "Relates" }, inwardIssue: { key: first.key }, outwardIssue: { key: "BILL-142" } },
      ]);
      const second = await upsertIncident(jiraClient, { ...SETTINGS, runId: "night-2" }, input, "");
      expect(second).toEqual({
        key: first.key,
        result: {
          kind: "incident",
          status: "updated",
          url: `https://acme.atlassian.net/browse/${first.key}`,
          reason: `comment added to ${first.key}`,
        },
      });
      expect(tickets()).toHaveLength(1);
      expect(JSON.stringify(jira.added.get(first.key ?? ""))).toContain("tracefix run night-2");
    });

    it("calls a comment on a resolved ticket a regression", async () => {
      const { key } = await upsertIncident(jiraClient, SETTINGS, input, "");
      const ticket = jira.issues.get(key ?? "");
      if (ticket) Object.assign(ticket, { status: "Done", statusCategory: "done" });
      const again = await upsertIncident(jiraClient, { ...SETTINGS, runId: "night-2" }, input, "");
      expect(again.result.reason).toBe(`recurrence: ${key} was Done; regression comment added`);
      expect(JSON.stringify(jira.added.get(key ?? ""))).toContain("Regression: ");
    });

    it("says so on its own ticket, and points at the older one, when an overlapping run created first", async () => {
      jira.inject(
        { kind: "before", run: () => upsertIncident(jiraClient, { ...SETTINGS, runId: "other" }, input, "") },
        { match: (r) => r.method === "POST" && r.path === "/rest/api/3/issue", times: 1 },
      );
      const ours = await upsertIncident(jiraClient, SETTINGS, input, "");
      const [older, mine] = tickets();
      expect(tickets()).toHaveLength(2);
      expect(ours).toEqual({
        key: older?.key,
        result: {
          kind: "incident",
          status: "updated",
          url: `https://acme.atlassian.net/browse/${older?.key}`,
          reason: `overlapping run: ${mine?.key} duplicates ${older?.key} and says so`,
        },
      });
      expect(adfToMarkdown(jira.added.get(mine?.key ?? "")?.[0])).toBe(
        `**Duplicate: **an overlapping tracefix run opened ${older?.key} for the same fingerprint first; follow that ticket.\n\ntracefix run ${SETTINGS.runId}`,
      );
      // The next night finds and updates the older ticket only.
      const next = await upsertIncident(jiraClient, { ...SETTINGS, runId: "night-2" }, input, "");
      expect(next.key).toBe(older?.key);
    });

    it("keeps the ticket when the work item cannot be linked, and says why", async () => {
      jira.inject(
        { kind: "status", status: 404, body: { errorMessages: ["Issue does not exist"] } },
        {
          match: (r) => r.method === "POST" && r.path.endsWith("/issueLink"),
          times: 1,
        },
      );
      const { result } = await upsertIncident(jiraClient, SETTINGS, input, "");
      expect(result.status).toBe("created");
      expect(result.reason).toMatch(/^OPS-\d+ created; could not link BILL-142 \(/);
    });

    it("refuses to create blind when the search answers without an issue list", async () => {
      jira.inject(
        { kind: "status", status: 200, body: { nextPageToken: null } },
        {
          match: (r) => r.path.includes("/search/jql"),
          times: 5,
        },
      );
      const lenient = createJiraClient({
        baseUrl: jira.url,
        user: "triage@acme.example",
        apiToken: "jt",
        onSchemaMismatch: "silent",
      });
      await expect(upsertIncident(lenient, SETTINGS, input, "")).rejects.toThrow(
        /no issue list; not creating a ticket blind/,
      );
      expect(tickets()).toHaveLength(0);
    });

    it("keeps one remote link to the PR over three nights (a stable globalId)", async () => {
      const { key } = await upsertIncident(jiraClient, SETTINGS, input, "");
      for (let night = 0; night < 3; night++)
        await linkPullRequest(
          jiraClient,
          key ?? "",
          input.group.fingerprint,
          "https://github.com/acme/billing-service/pull/101",
          "Draft fix",
        );
      const bodies = writes(jira)
        .filter((r) => r.path.endsWith("/remotelink"))
        .map((r) => JSON.parse(r.body) as { globalId: string });
      expect(new Set(bodies.map((b) => b.globalId))).toEqual(
        new Set([`tracefix-pr-${input.group.fingerprint}`]),
      );
      expect(bodies).toHaveLength(3);
    });
  });

  describe("what the ticket says", () => {
    it("holds the writeup, the occurrences, the criteria, the traces and how to reproduce", async () => {
      const withEverything = {
        ...input,
        analysis: { ...analysis(0.9), violatedCriteria: ["Codes apply discounts"] },
        evidence: {
          ...input.evidence,
          pullRequest: {
            number: 142,
            title: "Discount codes",
            url: "https://github.com/acme/billing-service/pull/142",
            body: "",
            branch: "feature/BILL-142",
            author: "dana",
            mergedAt: null,
          },
        },
      } as ActionInput;
      const { key } = await upsertIncident(jiraClient, SETTINGS, withEverything, "none: low");
      const { group } = input;
      expect(adfToMarkdown(jira.issues.get(key ?? "")?.description)).toBe(
        [
          "**Summary: **A discount code without a matching discount crashes pricing. More detail follows.",
          "",
          "## Root cause",
          "",
          "customer.discounts is undefined for customers without negotiated discounts",
          "",
          "Confidence 0.9 · category code_regression · analyst claude",
          "",
          "## Occurrences",
          "",
          "- **Count: **`1`",
          "- **First seen: **`2026-11-20T10:00:00.000Z`",
          "- **Last seen: **`2026-11-20T10:00:00.000Z`",
          "- **Service: **`billing-service`",
          `- **Commit: **\`${REGRESSION}\``,
          "- **Introduced by: **[#142 Discount codes](https://github.com/acme/billing-service/pull/142)",
          "- **Fix PR: **none: low",
          "",
          "## Violated acceptance criteria",
          "",
          "- Codes apply discounts",
          "",
          "## Sample traces",
          "",
          "- [https://signoz.example/trace/1](https://signoz.example/trace/1)",
          "",
          "## Reproduce",
          "",
          "Input from the newest sample span:",
          "",
          "- `work_tracker.issue_id = BILL-142`",
          "",
          "First in-app frames:",
          "",
          "```",
          "TypeError: Cannot read properties of undefined (reading 'SPRING10')",
          "at applyDiscount (/srv/billing-service/src/pricing.js:7)",
          "at invoiceTotal (/srv/billing-service/src/pricing.js:14)",
          "at handle (/srv/billing-service/src/handlers.js:9)",
          "```",
          "",
          `Fingerprint ${group.fingerprint} (grouping v1). Opened by tracefix; reruns comment here instead of opening another ticket.`,
        ].join("\n"),
      );
      expect(jira.issues.get(key ?? "")?.summary).toBe(`[tracefix] billing-service: ${group.title}`);
    });

    it("leaves out what there is none of, and cuts a long summary to Jira's limit", async () => {
      const [bare] = rankedGroupsOf([
        exceptionSpan("Error", "x".repeat(400), "", { resource: { "service.name": "billing-service" } }),
      ]);
      if (!bare) throw new Error("no group");
      const { key } = await upsertIncident(
        jiraClient,
        SETTINGS,
        { group: bare, analysis: analysis(0.2), evidence: evidence(), traceLinks: [] },
        "",
      );
      const ticket = jira.issues.get(key ?? "");
      const text = adfToMarkdown(ticket?.description);
      expect(text.slice(text.indexOf("## Occurrences"))).toBe(
        [
          "## Occurrences",
          "",
          "- **Count: **`1`",
          "- **First seen: **`2026-11-20T10:00:00.000Z`",
          "- **Last seen: **`2026-11-20T10:00:00.000Z`",
          "- **Service: **`billing-service`",
          "- **Commit: **`unknown`",
          "- **Fix PR: ** ",
          "",
          `Fingerprint ${bare.fingerprint} (grouping v1). Opened by tracefix; reruns comment here instead of opening another ticket.`,
        ].join("\n"),
      );
      expect(ticket?.summary.length).toBe(250);
      expect(writes(jira).filter((r) => r.path.endsWith("/issueLink"))).toEqual([]);
    });

    it.each([
      [
        "input but no stack",
        { "user.tier": "gold" },
        "",
        ["Input from the newest sample span:", "", "- `user.tier = gold`"],
      ],
      [
        "a stack but no input",
        {},
        "TypeError: x\n    at f (/srv/app/src/a.js:1:1)",
        ["First in-app frames:", "", "```", "TypeError: x", "at f (/srv/app/src/a.js:1)", "```"],
      ],
    ])("says how to reproduce with %s", async (_, attributes, stack, lines) => {
      const [group] = rankedGroupsOf([
        exceptionSpan("TypeError", "x", stack, {
          attributes,
          resource: { "service.name": "billing-service" },
        }),
      ]);
      if (!group) throw new Error("no group");
      const { key } = await upsertIncident(jiraClient, SETTINGS, { ...input, group, traceLinks: [] }, "");
      const text = adfToMarkdown(jira.issues.get(key ?? "")?.description);
      expect(text.slice(text.indexOf("## Reproduce"), text.indexOf("\n\nFingerprint"))).toBe(
        ["## Reproduce", "", ...lines].join("\n"),
      );
    });

    it("says 'unknown' for the commit of a recurrence that carries none", async () => {
      const [group] = rankedGroupsOf([
        exceptionSpan("Error", "x", "", { resource: { "service.name": "billing-service" } }),
      ]);
      if (!group) throw new Error("no group");
      const bare = { ...input, group };
      const { key } = await upsertIncident(jiraClient, SETTINGS, bare, "");
      await upsertIncident(jiraClient, { ...SETTINGS, runId: "night-2" }, bare, "");
      expect(adfToMarkdown(jira.added.get(key ?? "")?.[0])).toContain(
        " on commit unknown (tracefix nightly run).",
      );
    });

    it("says how often it happened again, and on which commit", async () => {
      const { key } = await upsertIncident(jiraClient, SETTINGS, input, "");
      await upsertIncident(jiraClient, { ...SETTINGS, runId: "night-2" }, input, "");
      expect(adfToMarkdown(jira.added.get(key ?? "")?.[0])).toBe(
        "**Still happening: **1 more occurrence(s) between 2026-11-20T10:00:00.000Z and 2026-11-20T10:00:00.000Z" +
          ` on commit ${REGRESSION.slice(0, 12)} (tracefix nightly run).\n\ntracefix run night-2`,
      );
    });

    it("links to the ticket under the configured site, however many slashes end it", async () => {
      const { result } = await upsertIncident(
        jiraClient,
        { ...SETTINGS, baseUrl: "https://acme.atlassian.net//" },
        input,
        "",
      );
      expect(result.url).toMatch(/^https:\/\/acme\.atlassian\.net\/browse\/OPS-\d+$/);
    });
  });

  describe("tickets whose replies are lost or odd", () => {
    it("finds a comment whose reply was lost by its run marker, and writes it once", async () => {
      const { key } = await upsertIncident(jiraClient, SETTINGS, input, "");
      jira.inject(
        { kind: "lost", reply: "502" },
        { match: (r) => r.method === "POST" && r.path.endsWith("/comment") },
      );
      await upsertIncident(jiraClient, { ...SETTINGS, runId: "night-2" }, input, "");
      expect(jira.added.get(key ?? "")).toHaveLength(1);
    });

    it("finds a link whose reply was lost among the ticket's links, and links once", async () => {
      jira.inject(
        { kind: "lost", reply: "502" },
        { match: (r) => r.method === "POST" && r.path.endsWith("/issueLink") },
      );
      const { result, key } = await upsertIncident(jiraClient, SETTINGS, input, "");
      expect(result.reason).toBe(`${key} created`);
      expect(writes(jira).filter((r) => r.path.endsWith("/issueLink"))).toHaveLength(1);
    });

    it("writes a comment again when its write surely did not land, and only once", async () => {
      const { key } = await upsertIncident(jiraClient, SETTINGS, input, "");
      jira.inject(
        { kind: "status", status: 502 },
        { match: (r) => r.method === "POST" && r.path.endsWith("/comment") },
      );
      await upsertIncident(jiraClient, { ...SETTINGS, runId: "night-2" }, input, "");
      expect(jira.added.get(key ?? "")).toHaveLength(1);
    });

    it("links again when the link's write surely did not land, and only once", async () => {
      jira.inject(
        { kind: "status", status: 502 },
        { match: (r) => r.method === "POST" && r.path.endsWith("/issueLink") },
      );
      const { key } = await upsertIncident(jiraClient, SETTINGS, input, "");
      expect(jira.issues.get(key ?? "")?.links).toEqual([{ type: "Relates", key: "BILL-142" }]);
    });

    it("takes a create answered without a key for a write that may have landed, and looks", async () => {
      const lenient = createJiraClient({
        baseUrl: jira.url,
        user: "triage@acme.example",
        apiToken: "jt",
        onSchemaMismatch: "silent",
      });
      jira.inject(
        { kind: "status", status: 201, body: {} },
        { match: (r) => r.method === "POST" && r.path === "/rest/api/3/issue" },
      );
      const { result, key } = await upsertIncident(lenient, SETTINGS, input, "");
      expect(key).toMatch(/^OPS-\d+$/);
      expect(result).toMatchObject({ status: "created", url: `https://acme.atlassian.net/browse/${key}` });
      expect(tickets()).toHaveLength(1);
    });

    it("finds a ticket whose create reply was unreadable by its label", async () => {
      jira.inject(
        { kind: "truncate" },
        { match: (r) => r.method === "POST" && r.path === "/rest/api/3/issue" },
      );
      const { result } = await upsertIncident(jiraClient, SETTINGS, input, "");
      expect(result.reason).toMatch(/^OPS-1 created \(the reply was lost; found by its label\)/);
      expect(tickets()).toHaveLength(1);
    });

    it("waits out a rate-limited search instead of failing the ticket", async () => {
      jira.inject(
        { kind: "status", status: 429, retryAfterSeconds: 0 },
        { match: (r) => r.path.endsWith("/search/jql") },
      );
      const { result } = await upsertIncident(jiraClient, SETTINGS, input, "");
      expect(result.status).toBe("created");
    });

    it("does not take a search hit without the exact label for its ticket", async () => {
      jira.issues.set("OPS-90", {
        key: "OPS-90",
        summary: "other",
        status: "To Do",
        labels: ["tracefix-other"],
      });
      jira.inject(
        {
          kind: "status",
          status: 200,
          body: {
            issues: [
              { id: "10090", key: "OPS-90", fields: { labels: ["tracefix-other"], summary: "other" } },
            ],
            isLast: true,
          },
        },
        { match: (r) => r.path.endsWith("/search/jql") },
      );
      const { result } = await upsertIncident(jiraClient, SETTINGS, input, "");
      expect(result.status).toBe("created");
      expect(result.url).not.toContain("OPS-90");
    });

    it("sorts Jira's failures into refused, surely not applied and maybe applied", async () => {
      const failure = async (fault: Parameters<FakeJira["inject"]>[0]) => {
        jira.inject(fault, { match: (r) => r.path.endsWith("/myself") });
        return jiraClient.myself.getCurrentUser().then(
          () => null,
          (error: unknown) => classifyJiraFailure(error),
        );
      };
      expect(await failure({ kind: "status", status: 429, retryAfterSeconds: 2 })).toEqual({
        kind: "not_applied",
        waitMs: 2_000,
      });
      expect(await failure({ kind: "status", status: 503 })).toEqual({ kind: "ambiguous" });
      expect(await failure({ kind: "status", status: 500 })).toEqual({ kind: "ambiguous" });
      expect(await failure({ kind: "status", status: 400 })).toEqual({ kind: "final" });
      expect(await failure({ kind: "reset" })).toEqual({ kind: "ambiguous" });
      // A port that was just freed: the connection is refused, so the request never left.
      const spare = createServer();
      await new Promise<void>((resolve) => spare.listen(0, "127.0.0.1", resolve));
      const { port } = spare.address() as AddressInfo;
      await new Promise((resolve) => spare.close(resolve));
      const closed = createJiraClient({
        baseUrl: `http://127.0.0.1:${port}`,
        user: "triage@acme.example",
        apiToken: "t",
      });
      expect(
        await closed.myself.getCurrentUser().then(
          () => null,
          (error: unknown) => classifyJiraFailure(error),
        ),
      ).toEqual({ kind: "not_applied", waitMs: 500 });
      expect(classifyJiraFailure(new Error("unreadable"))).toEqual({ kind: "ambiguous" });
    });
  });

  describe("the live sink", () => {
    const sink = () =>
      new LiveSink({
        github: octokit,
        jira: jiraClient,
        incident: SETTINGS,
        gate: DEFAULT_GATE,
        labels: ["tracefix"],
        redactor: new Redactor(),
        confirmLooksMs: [10, 30],
      });

    it("writes the ticket, then the draft PR that links it, then the ticket's link to the PR", async () => {
      const [ticket, pr] = await sink().act(input);
      expect(ticket).toMatchObject({ kind: "incident", status: "created" });
      expect(pr).toMatchObject({ kind: "pull_request", status: "created", url: pulls()[0]?.html_url });
      expect(pulls()[0]?.body).toContain(ticket?.url ?? "missing");
      expect(pulls()[0]?.title).toBe(
        "fix(billing-service): A discount code without a matching discount crashes pricing",
      );
      const order = [...writes(jira), ...writes(github)]
        .sort((a, b) => a.receivedAt - b.receivedAt)
        .map((r) => `${r.method} ${r.path.replace(/OPS-\d+/g, "N")}`)
        .filter((line) => /issue$|pulls$|remotelink$/.test(line));
      expect(order).toEqual([
        "POST /rest/api/3/issue",
        "POST /repos/acme/billing-service/pulls",
        "POST /rest/api/3/issue/N/remotelink",
      ]);
    });

    it("holds the PR back when the ticket fails: a PR never goes out without its ticket", async () => {
      jira.inject(
        { kind: "status", status: 400, body: { errorMessages: ["bad"], errors: {} } },
        {
          match: (r) => r.method === "POST" && r.path === "/rest/api/3/issue",
          times: 1,
        },
      );
      const results = await sink().act(input);
      expect(results).toEqual([
        { kind: "incident", status: "failed", reason: expect.stringMatching(/^Jira HTTP 400: /) },
        {
          kind: "pull_request",
          status: "skipped",
          reason: "the incident ticket failed; the PR waits for the next run",
        },
      ]);
      expect(pulls()).toHaveLength(0);
    });

    it("opens the ticket but no PR when the gate refuses, giving the gate's reason", async () => {
      const [ticket, pr] = await sink().act({ ...input, analysis: analysis(0.5) });
      expect(ticket?.status).toBe("created");
      expect(pr).toEqual({
        kind: "pull_request",
        status: "skipped",
        reason: expect.stringMatching(/confidence 0\.5 is below the 0\.75 needed for a PR/),
      });
      expect(JSON.stringify(tickets()[0]?.description)).toContain("none: ");
      expect(pulls()).toHaveLength(0);
    });

    it("reports a failed PR as failed, keeping the ticket", async () => {
      github.inject(
        { kind: "status", status: 404, body: { message: "Not Found" } },
        {
          match: (r) => r.method === "GET" && r.path === "/repos/acme/billing-service",
          times: 1,
        },
      );
      const [ticket, pr] = await sink().act(input);
      expect(ticket?.status).toBe("created");
      expect(pr).toMatchObject({
        kind: "pull_request",
        status: "failed",
        reason: expect.stringMatching(/^GitHub HTTP 404: /),
      });
    });

    it("keeps the PR and says the next run retries when the ticket's link to it fails", async () => {
      jira.inject(
        { kind: "status", status: 400, body: { errorMessages: ["no"], errors: {} } },
        {
          match: (r) => r.path.endsWith("/remotelink"),
          times: 5,
        },
      );
      const [, pr] = await sink().act(input);
      expect(pr?.status).toBe("created");
      expect(pr?.reason).toMatch(/; ticket link failed \(Jira HTTP 400: .*\), the next run retries it$/);
    });

    it("tells the ticket a PR is on its way when the gate allows one, and names the link after the slug", async () => {
      await sink().act(input);
      expect(adfToMarkdown(tickets()[0]?.description)).toContain(
        "- **Fix PR: **a draft PR is proposed (linked below when opened)",
      );
      const link = writes(jira).find((r) => r.path.endsWith("/remotelink"));
      expect(JSON.parse(link?.body ?? "{}")).toMatchObject({
        object: { url: pulls()[0]?.html_url, title: `Draft fix for ${input.group.slug}` },
      });
    });

    it("opens no PR without a repository, and says so", async () => {
      const [, pr] = await sink().act({ ...input, evidence: { ...input.evidence, repository: null } });
      expect(pr).toEqual({ kind: "pull_request", status: "skipped", reason: "no repository for the PR" });
    });

    it("links nothing when the PR was skipped without a URL", async () => {
      const moved = FIX.replace("if (!discount) return subtotalCents;", "if (!discount) return 0;");
      const [, pr] = await sink().act({
        ...input,
        analysis: { ...analysis(0.9), fix: { rationale: "r", patch: moved } },
      });
      expect(pr?.status).toBe("skipped");
      expect(writes(jira).filter((r) => r.path.endsWith("/remotelink"))).toEqual([]);
    });

    it.each([
      ["a first sentence of exactly 72 characters whole", `${"x".repeat(71)}. More.`, "x".repeat(71)],
      ["a dot inside the sentence", "Fix v1.2 crash on empty carts. More.", "Fix v1.2 crash on empty carts"],
    ])("titles the PR with %s", async (_, summary, title) => {
      await sink().act({ ...input, analysis: { ...analysis(0.9), summary } });
      expect(pulls()[0]?.title).toBe(`fix(billing-service): ${title}`);
    });

    it("titles the PR with the summary's first sentence, cut at 72 characters", async () => {
      const long = `${"A very long first sentence about pricing ".repeat(3).trim()}. Then more.`;
      await sink().act({ ...input, analysis: { ...analysis(0.9), summary: long } });
      expect(pulls()[0]?.title).toBe(`fix(billing-service): ${long.slice(0, 71)}…`);
    });
  });
});

function analysis(confidence: number): Analysis {
  return {
    analyst: "claude",
    summary: "A discount code without a matching discount crashes pricing. More detail follows.",
    rootCause: "customer.discounts is undefined for customers without negotiated discounts",
    confidence,
    category: "code_regression",
    suspect: { commitSha: REGRESSION, path: "src/pricing.js", line: 7, why: "changed line" },
    violatedCriteria: [],
    evidence: [],
    investigationSteps: [],
    fix: { rationale: "guard the lookup", patch: FIX },
  };
}
