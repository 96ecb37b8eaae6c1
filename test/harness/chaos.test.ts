import { describe, expect, it } from "vitest";
import { fingerprintLabel } from "../../src/actions/incident.ts";
import { adfToMarkdown } from "../../src/evidence/adf.ts";
import { startWorld, type World } from "./world.ts";

// npm test runs one seed; npm run test:soak (TRACEFIX_SOAK=1) runs ten. A share of the faulted
// writes is applied by the fake and then answered with a 502, a reset or a timeout.
const SEEDS = process.env.TRACEFIX_SOAK ? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] : [7];
const NIGHTS = 3;
const FAULT_RATE = 0.2;
// Per night: timeouts (1 s, checked about once a second by undici), capped backoff and retries bound it.
const MAX_NIGHT_MS = 90_000;

describe("three nights against every fake with 20% faults", () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: every run completes, nothing is duplicated, every PR links its ticket`, async () => {
      const world = await startWorld({
        config: { regressions: { enabled: true }, agents: { enabled: true } },
      });
      try {
        world.chaos({ rate: FAULT_RATE, seed, slowMs: 1_500 });
        const nights = [];
        for (let n = 0; n < NIGHTS; n++) nights.push(await world.night());

        for (const night of nights) {
          expect([0, 1]).toContain(night.code);
          expect(night.ms).toBeLessThan(MAX_NIGHT_MS);
          expect(night.report, night.stderr).not.toBeNull();
          for (const group of night.report?.groups ?? []) {
            expect(group.actions.map((a) => a.kind)).toEqual(["incident", "pull_request"]);
            for (const action of group.actions) {
              expect(["created", "updated", "skipped", "dry_run", "failed"]).toContain(action.status);
              expect(action.url ?? action.reason, `${group.slug} ${action.kind}`).toBeTruthy();
            }
          }
        }

        const pulls = world.github.repos.get("acme/billing-service")?.pulls ?? [];
        const tickets = [...world.jira.issues.values()].filter((i) => i.key.startsWith("OPS-"));
        // Three nights that never got a ticket out would prove nothing about duplicates.
        expect(tickets.length).toBeGreaterThan(0);
        const duplicates = duplicatesIn(world);
        expect(duplicates).toEqual({
          tickets: 0,
          commentsPerNight: 0,
          issueLinks: 0,
          remoteLinks: 0,
          pulls: 0,
          labels: 0,
        });
        for (const pull of pulls) {
          const fingerprint = pull.head.replace("triage/", "");
          const ticket = tickets.find((t) => t.labels?.includes(fingerprintLabel(fingerprint)));
          expect(ticket, `ticket for ${pull.head}`).toBeDefined();
          expect(pull.body).toContain(`/browse/${ticket?.key}`);
          expect(pull.draft).toBe(true);
        }

        const faults = world.servers.reduce(
          (n, s) => n + Object.values(s.faultsInjected).reduce((a, b) => a + b, 0),
          0,
        );
        const requests = world.servers.reduce((n, s) => n + s.requests.length, 0);
        expect(faults).toBeGreaterThan(0);
        const lost = world.servers.reduce(
          (n, s) =>
            n +
            Object.entries(s.faultsInjected).reduce((a, [k, v]) => a + (k.startsWith("lost-") ? v : 0), 0),
          0,
        );
        console.log(
          `chaos seed ${seed}: ${NIGHTS} nights, exit codes ${nights.map((n) => n.code).join("/")}, ${faults} faults (${lost} applied-then-lost writes) in ${requests} requests, ` +
            `${pulls.length} PR(s), ${tickets.length} ticket(s), duplicates ${JSON.stringify(duplicates)}, max night ${Math.max(...nights.map((n) => n.ms))} ms`,
        );
      } finally {
        await world.close();
      }
    }, 400_000);
  }
});

/** Every kind of duplicate a retried write could leave behind, counted in the fakes' state. */
function duplicatesIn(world: World) {
  const extra = (values: string[]) => values.length - new Set(values).size;
  const tickets = [...world.jira.issues.values()].filter((i) => i.key.startsWith("OPS-"));
  const pulls = world.github.repos.get("acme/billing-service")?.pulls ?? [];
  // A tracefix comment carries its run's marker: two with one marker are one comment written twice.
  const commentRuns = tickets.flatMap((t) =>
    (world.jira.added.get(t.key) ?? []).map(
      (body) => `${t.key} ${/tracefix run (\S+)/.exec(adfToMarkdown(body))?.[1]}`,
    ),
  );
  return {
    tickets: extra(tickets.flatMap((t) => (t.labels ?? []).filter((l) => l.startsWith("tracefix-")))),
    commentsPerNight: extra(commentRuns),
    issueLinks: tickets.reduce((n, t) => n + extra((t.links ?? []).map((l) => `${l.type} ${l.key}`)), 0),
    remoteLinks: tickets.reduce((n, t) => n + Math.max(0, (t.remoteLinks?.size ?? 0) - 1), 0),
    pulls: extra(pulls.map((p) => p.head)),
    labels: pulls.reduce((n, p) => n + extra(p.labels), 0),
  };
}
