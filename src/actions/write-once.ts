/**
 * A non-idempotent write (a ticket, a comment, a PR) done at most once in effect.
 *
 * A failure is one of three things. `not_applied`: the server said it did nothing (429, a refused
 * connection), so the write is repeated after the wait it asked for. `final`: the server refused
 * the request (4xx), so it is not repeated. `ambiguous`: the request may have reached the server
 * and been applied (5xx after sending, a reset, a timeout, an unreadable reply). Then nothing is
 * repeated blind: `find` looks for what the write would have made, by the marker it carries, with
 * a bounded, backed-off series of looks (a search index can lag a fresh write by seconds), and the
 * write is repeated only when every look says it is absent.
 */
export type FailureKind = { kind: "ambiguous" } | { kind: "not_applied"; waitMs: number } | { kind: "final" };

export interface WriteOnceOptions<T> {
  write: () => Promise<T>;
  find: () => Promise<T | null>;
  classify: (error: unknown) => FailureKind;
  /** Attempts of the write itself, including the first. */
  attempts?: number;
  /** Waits before each look after an ambiguous failure. */
  lookDelaysMs: readonly number[];
}

export interface WriteOnceResult<T> {
  value: T;
  /** The reply was lost and the object was found by its marker instead. */
  recovered: boolean;
  /** Writes actually sent (for the report and the tests). */
  writes: number;
}

// A Retry-After beyond this fails the write instead of stalling the night.
const MAX_WAIT_MS = 30_000;

export async function writeOnce<T>(options: WriteOnceOptions<T>): Promise<WriteOnceResult<T>> {
  const attempts = options.attempts ?? 3;
  const lookDelays = options.lookDelaysMs;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return { value: await options.write(), recovered: false, writes: attempt };
    } catch (error) {
      lastError = error;
      const failure = options.classify(error);
      if (failure.kind === "final") throw error;
      if (failure.kind === "not_applied") {
        if (failure.waitMs > MAX_WAIT_MS || attempt === attempts) throw error;
        await sleep(failure.waitMs);
        continue;
      }
      const seen = await look(options.find, lookDelays);
      if (seen !== "absent" && seen !== "unknown")
        return { value: seen.value, recovered: true, writes: attempt };
      // Only a last look that answered "absent" licenses another write; an unanswered one does not.
      if (seen === "unknown") throw new UnconfirmedWriteError(error);
    }
  }
  throw lastError;
}

/** The write may have been applied and no look could say: repeating it could duplicate it. */
export class UnconfirmedWriteError extends Error {
  override readonly name = "UnconfirmedWriteError";
  constructor(cause: unknown) {
    super(
      `the reply was lost (${cause instanceof Error ? cause.message : String(cause)}) and the result could not be confirmed; not repeated, the next run looks again`,
      { cause },
    );
  }
}

async function look<T>(
  find: () => Promise<T | null>,
  delays: readonly number[],
): Promise<{ value: T } | "absent" | "unknown"> {
  let last: "absent" | "unknown" = "unknown";
  for (const delay of delays) {
    await sleep(delay);
    try {
      const found = await find();
      if (found !== null) return { value: found };
      last = "absent";
    } catch {
      // A failed look proves nothing either way.
      last = "unknown";
    }
  }
  return last;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
