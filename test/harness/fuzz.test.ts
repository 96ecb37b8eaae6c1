import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEMO_DIR } from "../../scripts/demo-repo.ts";
import { type CliOptions, loadConfig } from "../../src/config.ts";
import { GroupCollector } from "../../src/grouping/collector.ts";
import { rankGroups } from "../../src/grouping/rank.ts";
import { OtlpFileSource } from "../../src/telemetry/otlp-file.ts";
import { UsageError } from "../../src/usage-error.ts";
import { seeded } from "../fakes/server.ts";

const ITERATIONS = process.env.TRACEFIX_SOAK ? 400 : 40;
const WINDOW = { sinceMs: Date.parse("2026-11-19T00:00:00Z"), untilMs: Date.parse("2026-11-21T00:00:00Z") };
const demoLines = readFileSync(join(DEMO_DIR, "telemetry.jsonl"), "utf8").split("\n").filter(Boolean);
const dir = mkdtempSync(join(tmpdir(), "tracefix-fuzz-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Mutation = (line: string, random: () => number) => string | Buffer;
const pick = <T>(items: readonly T[], random: () => number): T =>
  items[Math.floor(random() * items.length)] as T;

const MUTATIONS: Record<string, Mutation> = {
  truncate: (line, r) => line.slice(0, Math.floor(r() * line.length)),
  wrongTypes: (line, r) =>
    line
      .replace(/"stringValue":"[^"]*"/g, () =>
        pick(['"stringValue":42', '"stringValue":null', '"stringValue":{"x":[1]}', '"boolValue":"yes"'], r),
      )
      .replace(/"startTimeUnixNano":"\d+"/g, () =>
        pick(['"startTimeUnixNano":true', '"startTimeUnixNano":"-1"', '"startTimeUnixNano":[]'], r),
      ),
  hugeAttribute: (line) =>
    line.replace(
      '"attributes":[',
      `"attributes":[{"key":"blob","value":{"stringValue":"${"A".repeat(1_000_000)}"}},`,
    ),
  hugeStack: (line) =>
    line.replace(
      '"attributes":[',
      `"attributes":[{"key":"exception.stacktrace","value":{"stringValue":"${`at f (${"x(".repeat(50_000)})`}"}},{"key":"exception.message","value":{"stringValue":"${"deadbeef0".repeat(12_000)}"}},`,
    ),
  deepNesting: (line) =>
    line.replace(
      '"attributes":[',
      `"attributes":[{"key":"deep","value":${'{"arrayValue":{"values":['.repeat(5_000)}${"]}}".repeat(5_000)}},`,
    ),
  invalidUtf8: (line, r) => {
    const bytes = Buffer.from(line);
    for (let i = 0; i < 20; i++) bytes[Math.floor(r() * bytes.length)] = pick([0xff, 0xfe, 0xc3, 0x80], r);
    return bytes;
  },
  randomBytes: (_, r) => Buffer.from(Array.from({ length: 300 }, () => Math.floor(r() * 256))),
  wrongShape: (_, r) =>
    pick(
      [
        '{"resourceSpans":{}}',
        '{"resourceSpans":[null,1,"x",{"scopeSpans":7}]}',
        "[]",
        "null",
        '"just a string"',
        "{}",
      ],
      r,
    ),
};

describe("fuzzing the OTLP file reader", () => {
  it(`never crashes or hangs on ${ITERATIONS} mutated files, and counts what it skips`, async () => {
    const random = seeded(20261125);
    const names = Object.keys(MUTATIONS);
    for (let i = 0; i < ITERATIONS; i++) {
      const chosen = Array.from({ length: 3 }, () => pick(names, random));
      const lines = demoLines
        .slice(0, 12)
        .map((line) => (random() < 0.5 ? (MUTATIONS[pick(chosen, random)] as Mutation)(line, random) : line));
      const path = join(dir, `fuzz-${i}.jsonl`);
      const content = Buffer.concat(
        lines.flatMap((l) => [Buffer.isBuffer(l) ? l : Buffer.from(l), Buffer.from("\n")]),
      );
      writeFileSync(path, content);
      // readline breaks lines on \n, \r\n and a lone \r, which random bytes can contain.
      const lineCount = content.toString("latin1").split(/\r\n|\r|\n/).length;
      const source = new OtlpFileSource(path);
      const preflight = await source.preflight().then(
        () => null,
        (e: unknown) => e,
      );
      if (preflight) {
        expect(preflight, `${chosen}`).toBeInstanceOf(UsageError);
        continue;
      }
      const collector = new GroupCollector();
      const started = Date.now();
      const stats = await source.collect(WINDOW, collector);
      expect(Date.now() - started, `iteration ${i} (${chosen}) took too long`).toBeLessThan(5_000);
      expect(stats.skippedLines).toBeLessThanOrEqual(lineCount);
      const ranked = rankGroups(collector.groups(), WINDOW, () => undefined);
      for (const group of ranked) {
        expect(group.samples.every((s) => s.stacktrace.length <= 16_100 && s.message.length <= 2_100)).toBe(
          true,
        );
        expect(group.slug.length).toBeLessThan(200);
      }
    }
  }, 120_000);
});

describe("fuzzing the config loader", () => {
  it("answers every triage.config.json with a config or a UsageError that names the field", () => {
    const random = seeded(7);
    const values = [
      null,
      true,
      0,
      -1,
      1.5,
      "",
      "x",
      "owner/repo",
      [],
      ["a"],
      {},
      { repo: 1 },
      { repo: "a/b" },
      1e12,
    ];
    const keys = [
      "services",
      "limit",
      "traceLinkTemplate",
      "telemetry",
      "evidence",
      "analysis",
      "actions",
      "github",
      "servcies",
    ];
    const cwd = mkdtempSync(join(dir, "cfg-"));
    writeFileSync(join(cwd, "spans.jsonl"), "");
    for (let i = 0; i < ITERATIONS * 5; i++) {
      const config: Record<string, unknown> = {};
      for (let k = 0; k < 3; k++) {
        const key = pick(keys, random);
        config[key] =
          random() < 0.3
            ? { [pick(["timeoutMs", "maxFiles", "billing", "x"], random)]: pick(values, random) }
            : pick(values, random);
      }
      writeFileSync(
        join(cwd, "triage.config.json"),
        random() < 0.1 ? JSON.stringify(config).slice(0, 10) : JSON.stringify(config),
      );
      const options: CliOptions = { input: "spans.jsonl" };
      try {
        loadConfig(options, {}, cwd, new Date("2026-11-25T00:00:00Z"));
      } catch (error) {
        expect(error, JSON.stringify(config)).toBeInstanceOf(UsageError);
        expect(String(error)).toMatch(/triage\.config\.json: (not valid JSON \(|[\w.]+: |\(top level\): )/);
      }
    }
  });
});
