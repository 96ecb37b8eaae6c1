import { describe, expect, it } from "vitest";
import { GroupCollector, SAMPLES_PER_GROUP } from "../../src/grouping/collector.ts";
import { rankGroups } from "../../src/grouping/rank.ts";
import { exceptionSpan, PRICING_STACK } from "../helpers/spans.ts";

const T0 = Date.parse("2026-11-20T00:00:00Z");
const WINDOW = { sinceMs: T0, untilMs: T0 + 86_400_000 };
const OLD = "a".repeat(40);
const NEW = "b".repeat(40);

function errorsAt(commit: string, type: string, times: number[]) {
  return times.map((t, i) =>
    exceptionSpan(type, `failed ${i}`, PRICING_STACK, {
      traceId: `${commit.slice(0, 8)}${type.length}${String(i).padStart(23, "0")}`,
      startTimeMs: T0 + t,
      resource: { "service.name": "billing-service", "build.commit_sha": commit },
    }),
  );
}

describe("GroupCollector", () => {
  it("counts every span, tracks first/last seen, and keeps only the latest samples", () => {
    const collector = new GroupCollector();
    const spans = errorsAt(NEW, "TypeError", [5, 1, 9, 3, 7, 2, 8, 4]);
    for (const s of spans) collector.addSpan(s);
    const [group] = collector.groups();
    expect(group?.count).toBe(8);
    expect(group?.firstSeenMs).toBe(T0 + 1);
    expect(group?.lastSeenMs).toBe(T0 + 9);
    expect(group?.samples).toHaveLength(SAMPLES_PER_GROUP);
    expect(group?.samples.map((s) => s.timeMs - T0)).toEqual([9, 8, 7, 5, 4]);
  });

  it("bounds a sample's stack trace however large the span's is", () => {
    const collector = new GroupCollector();
    collector.addSpan(exceptionSpan("E", "m", `E\n    at f (/app/a.js:1:1)\n${"x".repeat(200_000)}`));
    const sample = collector.groups()[0]?.samples[0];
    expect(sample?.stacktrace.length).toBeLessThan(17_000);
  });
});

describe("rankGroups", () => {
  it("boosts a group whose commit was first seen inside the window", () => {
    const collector = new GroupCollector();
    collector.noteCommitSeen(OLD, T0 - 3_600_000);
    collector.noteCommitSeen(NEW, T0 + 1000);
    for (const s of [
      ...errorsAt(OLD, "OldError", [1, 2, 3, 4, 5, 6]),
      ...errorsAt(NEW, "NewError", [10, 20, 30, 40]),
    ]) {
      collector.addSpan(s);
    }
    const ranked = rankGroups(collector.groups(), WINDOW, (sha) => collector.firstSeenOfCommit(sha));
    expect(ranked.map((g) => [g.grouping.exceptionType, g.newCommit, g.rank])).toEqual([
      ["NewError", true, 1],
      ["OldError", false, 2],
    ]);
  });

  it("ranks by count when other things are equal, with a damped (log) weight", () => {
    const collector = new GroupCollector();
    for (const s of [
      ...errorsAt(OLD, "Rare", [100]),
      ...errorsAt(
        OLD,
        "Common",
        Array.from({ length: 30 }, () => 100),
      ),
    ]) {
      collector.addSpan(s);
    }
    const ranked = rankGroups(collector.groups(), WINDOW, () => T0 - 1);
    expect(ranked[0]?.grouping.exceptionType).toBe("Common");
    expect((ranked[0]?.score ?? 0) / (ranked[1]?.score ?? 1)).toBeLessThan(30);
  });

  it("prefers the group seen more recently when counts tie", () => {
    const collector = new GroupCollector();
    for (const s of [...errorsAt(OLD, "Early", [1000]), ...errorsAt(OLD, "Late", [80_000_000])])
      collector.addSpan(s);
    const ranked = rankGroups(collector.groups(), WINDOW, () => T0 - 1);
    expect(ranked.map((g) => g.grouping.exceptionType)).toEqual(["Late", "Early"]);
  });
});
