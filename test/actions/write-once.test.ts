import { afterEach, describe, expect, it, vi } from "vitest";
import { type FailureKind, UnconfirmedWriteError, writeOnce } from "../../src/actions/write-once.ts";

class Failure extends Error {
  readonly kind: FailureKind;
  constructor(kind: FailureKind) {
    super(kind.kind);
    this.kind = kind;
  }
}
const classify = (error: unknown): FailureKind => (error instanceof Failure ? error.kind : { kind: "final" });
const AMBIGUOUS: FailureKind = { kind: "ambiguous" };
const looks = [1, 1, 1];

/** A server whose writes can be applied and then answered with an error. */
function server(script: Array<"ok" | "lost" | "refused" | "rate-limited" | "rejected">) {
  const made: number[] = [];
  let call = 0;
  let lookups = 0;
  return {
    made,
    get lookups() {
      return lookups;
    },
    write: async () => {
      const step = script[call++] ?? "ok";
      if (step === "rate-limited") throw new Failure({ kind: "not_applied", waitMs: 1 });
      if (step === "refused") throw new Failure({ kind: "final" });
      if (step === "rejected") throw new Failure({ kind: "final" });
      made.push(call);
      if (step === "lost") throw new Failure(AMBIGUOUS);
      return call;
    },
    find: async () => {
      lookups += 1;
      return made.length > 0 ? (made[0] ?? null) : null;
    },
  };
}

describe("writeOnce", () => {
  it("writes once when the reply arrives", async () => {
    const s = server(["ok"]);
    expect(await writeOnce({ ...s, classify, lookDelaysMs: looks })).toEqual({
      value: 1,
      recovered: false,
      writes: 1,
    });
    expect(s.lookups).toBe(0);
  });

  it("finds what a lost reply made instead of writing again", async () => {
    const s = server(["lost"]);
    expect(await writeOnce({ ...s, classify, lookDelaysMs: looks })).toEqual({
      value: 1,
      recovered: true,
      writes: 1,
    });
    expect(s.made).toHaveLength(1);
  });

  it("writes again only when every look says absent", async () => {
    let calls = 0;
    const result = await writeOnce({
      write: async () => {
        calls += 1;
        if (calls === 1) throw new Failure(AMBIGUOUS); // failed before it was applied
        return "second";
      },
      find: async () => null,
      classify,
      lookDelaysMs: looks,
    });
    expect(result).toEqual({ value: "second", recovered: false, writes: 2 });
  });

  it("keeps looking with backoff until a lagging index shows the write", async () => {
    let looked = 0;
    const result = await writeOnce({
      write: async () => {
        throw new Failure(AMBIGUOUS);
      },
      find: async () => (++looked >= 3 ? "found" : null),
      classify,
      lookDelaysMs: looks,
    });
    expect(result).toEqual({ value: "found", recovered: true, writes: 1 });
    expect(looked).toBe(3);
  });

  it("never repeats a write when no look could answer", async () => {
    let writes = 0;
    const attempt = writeOnce({
      write: async () => {
        writes += 1;
        throw new Failure(AMBIGUOUS);
      },
      find: async () => {
        throw new Error("search down");
      },
      classify,
      lookDelaysMs: looks,
    });
    await expect(attempt).rejects.toBeInstanceOf(UnconfirmedWriteError);
    await expect(attempt).rejects.toThrow(/could not be confirmed; not repeated/);
    expect(writes).toBe(1);
  });

  it("trusts a later answered look over an earlier failed one", async () => {
    let looked = 0;
    let writes = 0;
    const result = await writeOnce({
      write: async () => {
        writes += 1;
        if (writes === 1) throw new Failure(AMBIGUOUS);
        return "again";
      },
      find: async () => {
        looked += 1;
        if (looked === 1) throw new Error("blip");
        return null;
      },
      classify,
      lookDelaysMs: [1, 1],
    });
    expect(result).toEqual({ value: "again", recovered: false, writes: 2 });
  });

  it("retries a write the server refused to start (429) after the wait, without looking", async () => {
    const s = server(["rate-limited", "ok"]);
    expect(await writeOnce({ ...s, classify, lookDelaysMs: looks })).toEqual({
      value: 2,
      recovered: false,
      writes: 2,
    });
    expect(s.lookups).toBe(0);
  });

  it("gives up on a final refusal at once", async () => {
    const s = server(["rejected", "ok"]);
    await expect(writeOnce({ ...s, classify, lookDelaysMs: looks })).rejects.toThrow("final");
    expect(s.made).toHaveLength(0);
  });

  it("does not wait out an absurd Retry-After", async () => {
    let writes = 0;
    const attempt = writeOnce({
      write: async () => {
        writes += 1;
        throw new Failure({ kind: "not_applied", waitMs: 600_000 });
      },
      find: async () => null,
      classify,
      lookDelaysMs: looks,
    });
    await expect(attempt).rejects.toThrow("not_applied");
    expect(writes).toBe(1);
  });

  it("stops after the last attempt, each confirmed absent first", async () => {
    let writes = 0;
    let looked = 0;
    const attempt = writeOnce({
      write: async () => {
        writes += 1;
        throw new Failure(AMBIGUOUS);
      },
      find: async () => {
        looked += 1;
        return null;
      },
      classify,
      attempts: 3,
      lookDelaysMs: [1, 1],
    });
    await expect(attempt).rejects.toThrow("ambiguous");
    expect(writes).toBe(3);
    expect(looked).toBe(6);
  });

  it("stops retrying a rate limit after the last attempt", async () => {
    const s = server(["rate-limited", "rate-limited", "rate-limited", "ok"]);
    await expect(writeOnce({ ...s, classify, lookDelaysMs: looks, attempts: 3 })).rejects.toThrow(
      "not_applied",
    );
  });

  describe("waits, on a fake clock", () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it("waits out a Retry-After of exactly the 30 s it tolerates, and no longer", async () => {
      vi.useFakeTimers();
      let writes = 0;
      const attempt = writeOnce({
        write: async () => {
          writes += 1;
          if (writes === 1) throw new Failure({ kind: "not_applied", waitMs: 30_000 });
          return "made";
        },
        find: async () => null,
        classify,
        lookDelaysMs: looks,
      });
      await vi.advanceTimersByTimeAsync(29_999);
      expect(writes).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      await expect(attempt).resolves.toEqual({ value: "made", recovered: false, writes: 2 });
    });

    it("looks only after each delay has passed", async () => {
      vi.useFakeTimers();
      let lookups = 0;
      const attempt = writeOnce({
        write: async () => {
          throw new Failure(AMBIGUOUS);
        },
        find: async () => {
          lookups += 1;
          return "found";
        },
        classify,
        lookDelaysMs: [1_000],
      });
      await vi.advanceTimersByTimeAsync(999);
      expect(lookups).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      await expect(attempt).resolves.toEqual({ value: "found", recovered: true, writes: 1 });
    });
  });

  it("does not repeat a write when no look was made at all", async () => {
    const s = server(["lost", "ok"]);
    await expect(writeOnce({ ...s, classify, lookDelaysMs: [] })).rejects.toBeInstanceOf(
      UnconfirmedWriteError,
    );
    expect(s.made).toHaveLength(1);
  });

  it("does not repeat a write when the last look failed after an earlier one said absent", async () => {
    let looks = 0;
    let writes = 0;
    const attempt = writeOnce({
      write: async () => {
        writes += 1;
        throw new Failure(AMBIGUOUS);
      },
      find: async () => {
        looks += 1;
        if (looks === 1) return null;
        throw new Error("search unavailable");
      },
      classify,
      lookDelaysMs: [1, 1],
    });
    const error = await attempt.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnconfirmedWriteError);
    expect((error as Error).message).toBe(
      "the reply was lost (ambiguous) and the result could not be confirmed; not repeated, the next run looks again",
    );
    expect((error as Error).cause).toBeInstanceOf(Failure);
    expect(writes).toBe(1);
  });
});
