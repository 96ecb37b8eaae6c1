import { afterEach, describe, expect, it } from "vitest";
import { fingerprintLabel } from "../../src/actions/incident.ts";
import type { Fault, RecordedRequest } from "../fakes/server.ts";
import { startWorld, type World } from "../harness/world.ts";

// Writes applied by the service whose reply then never arrives: the client cannot tell.
const LOST: Array<Extract<Fault, { kind: "lost" }>> = [
  { kind: "lost", reply: "502" },
  { kind: "lost", reply: "reset" },
  { kind: "lost", reply: "slow", ms: 1_500 },
];
const isCreateIssue = (r: RecordedRequest) => r.method === "POST" && r.path === "/rest/api/3/issue";
const isComment = (r: RecordedRequest) => r.method === "POST" && /\/comment$/.test(r.path);
const isIssueLink = (r: RecordedRequest) => r.method === "POST" && r.path === "/rest/api/3/issueLink";
const isRemoteLink = (r: RecordedRequest) => r.method === "POST" && /\/remotelink$/.test(r.path);
const isCreatePull = (r: RecordedRequest) => r.method === "POST" && /\/pulls$/.test(r.path);

describe("a write whose reply is lost is confirmed, never repeated blind", () => {
  let world: World;
  afterEach(() => world.close());

  const open = async (looks = [30, 100, 300]) => {
    world = await startWorld({ config: { actions: { confirmLooksMs: looks } } });
    return world;
  };
  const tickets = () => [...world.jira.issues.values()].filter((i) => i.key.startsWith("OPS-"));
  const pulls = () => world.github.repos.get("acme/billing-service")?.pulls ?? [];
  const ticketsPerLabel = () => {
    const counts = new Map<string, number>();
    for (const t of tickets())
      for (const l of t.labels ?? []) if (l.startsWith("tracefix-")) counts.set(l, (counts.get(l) ?? 0) + 1);
    return counts;
  };

  it.each(LOST)(
    "one ticket per fingerprint when the create is applied and answered $reply",
    async (fault) => {
      await open();
      world.jira.inject(fault, { times: 2, match: isCreateIssue });
      const night = await world.night();
      expect(night.code, night.stderr).toBe(0);
      const groups = night.report?.groups ?? [];
      expect(tickets()).toHaveLength(groups.length);
      expect([...ticketsPerLabel().values()].every((n) => n === 1)).toBe(true);
      const recovered = groups.filter((g) =>
        /reply was lost; found by its label/.test(g.actions[0]?.reason ?? ""),
      );
      expect(recovered).toHaveLength(2);
      for (const g of recovered) expect(g.actions[0]?.status).toBe("created");
    },
  );

  it("looks again with backoff when Jira's search lags the write, and still writes only once", async () => {
    await open([100, 300, 900]);
    world.jira.searchLagMs = 700;
    world.jira.inject({ kind: "lost", reply: "502" }, { times: 1, match: isCreateIssue });
    const night = await world.night({}, ["--limit", "1"]);
    expect(night.code, night.stderr).toBe(0);
    expect(tickets()).toHaveLength(1);
    expect(night.report?.groups[0]?.actions[0]?.reason).toMatch(/reply was lost/);
  });

  it("a single early look would have missed it: the same lag with one short look opens a duplicate", async () => {
    // The control for the test above: without the backed-off looks the lag wins.
    await open([50]);
    world.jira.searchLagMs = 700;
    world.jira.inject({ kind: "lost", reply: "502" }, { times: 1, match: isCreateIssue });
    await world.night({}, ["--limit", "1"]);
    expect(tickets()).toHaveLength(2);
  });

  it.each(LOST)(
    "one 'seen again' comment per ticket per night when the comment is answered $reply",
    async (fault) => {
      await open();
      await world.night();
      const before = new Map(tickets().map((t) => [t.key, world.jira.added.get(t.key)?.length ?? 0]));
      world.jira.inject(fault, { times: 3, match: isComment });
      const night = await world.night();
      expect(night.code, night.stderr).toBe(0);
      for (const t of tickets())
        expect(world.jira.added.get(t.key)?.length ?? 0, t.key).toBe((before.get(t.key) ?? 0) + 1);
    },
  );

  it.each(LOST)("one issue link and one remote link when each is answered $reply", async (fault) => {
    await open();
    world.jira.inject(fault, { times: 1, match: isIssueLink });
    world.jira.inject(fault, { times: 1, match: isRemoteLink });
    for (let n = 0; n < 3; n++) await world.night();
    const linked = tickets().filter((t) => (t.links ?? []).length > 0);
    expect(linked.length).toBeGreaterThan(0);
    for (const t of linked) expect(t.links, t.key).toEqual([{ type: "Relates", key: "BILL-142" }]);
    const withRemote = tickets().filter((t) => (t.remoteLinks?.size ?? 0) > 0);
    expect(withRemote).toHaveLength(1);
    expect(withRemote[0]?.remoteLinks?.size).toBe(1);
  });

  it.each(LOST)("one draft PR, reported as created, when its create is answered $reply", async (fault) => {
    await open();
    world.github.inject(fault, { times: 1, match: isCreatePull });
    const night = await world.night();
    expect(night.code, night.stderr).toBe(0);
    expect(pulls()).toHaveLength(1);
    expect(pulls()[0]?.labels).toEqual(["tracefix"]);
    const pr = night.report?.groups.flatMap((g) => g.actions).find((a) => a.kind === "pull_request" && a.url);
    expect(pr).toMatchObject({
      status: "created",
      reason: expect.stringMatching(/reply was lost; found by its branch/),
    });
    const ticket = tickets().find((t) =>
      t.labels?.includes(fingerprintLabel(pulls()[0]?.head.replace("triage/", "") ?? "")),
    );
    expect(pulls()[0]?.body).toContain(`/browse/${ticket?.key}`);
  });
});
