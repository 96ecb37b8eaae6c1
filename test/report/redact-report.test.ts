import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DryRunSink } from "../../src/actions/dry-run.ts";
import { DEFAULT_GATE } from "../../src/actions/gate.ts";
import { Redactor } from "../../src/evidence/redact.ts";
import { redactReportGroups } from "../../src/report/redact-report.ts";
import { ReportGroupSchema } from "../../src/report/schema.ts";
import { modelAnswer } from "../helpers/answers.ts";
import { evidence } from "../helpers/evidence.ts";
import { rankedGroupsOf } from "../helpers/groups.ts";
import { sampleReportGroup } from "../helpers/report-group.ts";
import { CANARY } from "../helpers/secrets.ts";
import { exceptionSpan } from "../helpers/spans.ts";

// Both pass the Luhn check, and the second starts like a Visa card.
const FINGERPRINTS = ["8161951532971035", "4111111111111111"];
const SHA = "4242424242424242424242424242424242424242";

describe("the last redaction pass over the report", () => {
  it.each(FINGERPRINTS)(
    "keeps fingerprint %s, the SHA, the trace ids and the paths, and redacts the canaries",
    async (fp) => {
      const group = sampleReportGroup();
      group.fingerprint = fp;
      group.commitSha = SHA;
      group.sampleTraceIds = ["4539578763621486"];
      group.actions = [
        {
          kind: "incident",
          status: "dry_run",
          path: `out/actions/${fp}/incident.md`,
          reason: `ticket for ${fp}`,
        },
      ];
      if (group.analysis) {
        group.analysis.summary = `card ${CANARY.card} and ${CANARY.awsKey} seen; fingerprint ${fp}`;
        group.analysis.rootCause = "String head = token.substring(0, pos);";
      }
      const redactor = new Redactor();
      const [out] = await redactReportGroups([group], redactor);
      expect(ReportGroupSchema.parse(out)).toBeTruthy();
      expect(out?.fingerprint).toBe(fp);
      expect(out?.commitSha).toBe(SHA);
      expect(out?.sampleTraceIds).toEqual(["4539578763621486"]);
      expect(out?.actions[0]?.path).toBe(`out/actions/${fp}/incident.md`);
      expect(out?.actions[0]?.reason).toBe(`ticket for ${fp}`);
      expect(out?.analysis?.summary).toBe(
        `card [REDACTED:card-number] and [REDACTED:aws-key] seen; fingerprint ${fp}`,
      );
      expect(out?.analysis?.rootCause).toBe("String head = token.substring(0, pos);");
    },
  );

  it("redacts free text, and the keys and values of anything the schema does not describe", async () => {
    const group = sampleReportGroup();
    const stray = { [CANARY.email]: { note: `key ${CANARY.awsKey}` }, list: [CANARY.email] };
    const [out] = await redactReportGroups(
      [{ ...group, workItem: null, title: CANARY.email, stray } as typeof group],
      new Redactor(),
    );
    expect(out?.title).toBe("[REDACTED:email]");
    expect((out as unknown as { stray: unknown }).stray).toEqual({
      "[REDACTED:email]": { note: "key [REDACTED:aws-key]" },
      list: ["[REDACTED:email]"],
    });
    // Keys the schema names are kept as they are, whatever they look like.
    expect(Object.keys(out ?? {})).toEqual([...Object.keys(group), "stray"]);
  });
});

describe("a dry run under a Luhn-valid fingerprint", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes its bodies where the report says, with the marker intact", async () => {
    dir = mkdtempSync(join(tmpdir(), "tracefix-luhn-"));
    const [ranked] = rankedGroupsOf([
      exceptionSpan("TypeError", "boom", "TypeError: boom\n    at f (src/a.js:1:1)"),
    ]);
    if (!ranked) throw new Error("no group");
    const group = { ...ranked, fingerprint: "4111111111111111" };
    const redactor = new Redactor();
    const sink = new DryRunSink(dir, "dry run", redactor, DEFAULT_GATE);
    const [incident] = await sink.act({
      group,
      analysis: {
        ...modelAnswer({ summary: `leaked ${CANARY.card}` }),
        analyst: "offline",
        category: "unknown",
      },
      evidence: evidence(),
      traceLinks: [],
    });
    const [reported] = await redactReportGroups(
      [{ ...sampleReportGroup(), fingerprint: group.fingerprint, actions: incident ? [incident] : [] }],
      redactor,
    );
    const path = reported?.actions[0]?.path ?? "";
    expect(path).toContain("4111111111111111");
    const body = readFileSync(existsSync(path) ? path : join(process.cwd(), path), "utf8");
    expect(body).toContain("<!-- tracefix:fingerprint=4111111111111111 -->");
    expect(body).not.toContain(CANARY.card);
  });
});

describe("identifier fields behind optional and nullable wrappers", () => {
  it("keeps an optional action URL and a nullable issue key that look like card numbers", async () => {
    const group = {
      ...sampleReportGroup(),
      issueKey: "PROJ-4111111111111111",
      actions: [
        {
          kind: "pull_request" as const,
          status: "created" as const,
          url: "https://github.com/acme/billing/pull/5555555555554444",
        },
      ],
    };
    const [out] = await redactReportGroups([group], new Redactor());
    expect(out?.issueKey).toBe("PROJ-4111111111111111");
    expect(out?.actions[0]?.url).toBe("https://github.com/acme/billing/pull/5555555555554444");
  });

  it("still redacts the same number in a free-text field the schema does not mark", async () => {
    const [out] = await redactReportGroups(
      [{ ...sampleReportGroup(), title: "card 5555555555554444" }],
      new Redactor(),
    );
    expect(out?.title).toBe("card [REDACTED:card-number]");
  });
});
