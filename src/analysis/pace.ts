import { createHash } from "node:crypto";

/**
 * The pace of model calls, set by what the provider announces rather than by a fixed number.
 *
 * Every Messages response carries `anthropic-ratelimit-{requests,input-tokens,output-tokens}-
 * {limit,remaining,reset}`. The buckets refill continuously, `max_tokens` is charged up front
 * against the output bucket, and a 429 says `retry-after`. So a call waits until each bucket it
 * draws on holds its cost (its own estimate, plus what calls in flight have reserved). The number
 * of calls in flight rises after each answer to what the announced buckets can hold (by one when
 * nothing is announced) and halves on a 429 or a 529, never past the ceiling.
 */

export interface PaceSettings {
  /** Calls in flight at most, whatever the headers allow. */
  ceiling: number;
  /** Calls in flight before the first answer says anything. */
  start: number;
  /** The longest a call may wait for room; past it the call fails with the reason. */
  maxWaitMs: number;
}

export interface CallCost {
  inputTokens: number;
  outputTokens: number;
}

export interface PaceStats {
  /** Calls let through. */
  calls: number;
  /** Answers that were 429 (rate limited) or 529 (overloaded). */
  throttled: number;
  /** Time calls spent waiting for room, summed. */
  waitedMs: number;
  /** The most calls in flight at once. */
  peakInFlight: number;
  /** The limits the provider announced last (per minute), when it announced any. */
  announced: { requests: number | null; inputTokens: number | null; outputTokens: number | null };
}

/** Raised when a call would have to wait past the bound (an hour's `retry-after`, say). */
export class PaceWaitError extends Error {
  override readonly name = "PaceWaitError";
}

interface Bucket {
  limit: number;
  remaining: number;
  /** When the bucket is full again, in ms since the epoch. */
  fullAtMs: number;
  /** When `remaining` was read. */
  readAtMs: number;
}

type BucketName = "requests" | "inputTokens" | "outputTokens";
const HEADER: Record<BucketName, string> = {
  requests: "requests",
  inputTokens: "input-tokens",
  outputTokens: "output-tokens",
};
// The longest a waiting call sleeps before it looks again (answers wake it sooner).
const RECHECK_MS = 1_000;

export class ModelPace {
  private readonly settings: PaceSettings;
  private readonly now: () => number;
  private window: number;
  private inFlight = 0;
  private readonly reserved: Record<BucketName, number> = { requests: 0, inputTokens: 0, outputTokens: 0 };
  // What the calls let through so far drew in all, for the average call.
  private readonly drawn: Record<BucketName, number> = { requests: 0, inputTokens: 0, outputTokens: 0 };
  private readonly buckets: Partial<Record<BucketName, Bucket>> = {};
  private blockedUntilMs = 0;
  private wakers: Array<() => void> = [];
  readonly stats: PaceStats = {
    calls: 0,
    throttled: 0,
    waitedMs: 0,
    peakInFlight: 0,
    announced: { requests: null, inputTokens: null, outputTokens: null },
  };

  constructor(settings: PaceSettings, now: () => number = Date.now) {
    this.settings = settings;
    this.now = now;
    this.window = Math.max(1, Math.min(settings.start, settings.ceiling));
  }

  /** Calls allowed in flight right now. */
  get allowed(): number {
    return this.window;
  }

  /** Waits for room for one call of `cost`; the returned function ends the call. */
  async acquire(cost: CallCost): Promise<() => void> {
    const started = this.now();
    // Only waiting on the limits counts against the bound; waiting for a free slot is a queue.
    let limitedMs = 0;
    for (;;) {
      const { ms: waitMs, forLimits } = this.waitFor(cost);
      if (waitMs === 0) break;
      if (forLimits && limitedMs + waitMs > this.settings.maxWaitMs) {
        throw new PaceWaitError(
          `the model's rate limits leave no room for ${Math.round(waitMs / 1000)} s, past the ${Math.round(this.settings.maxWaitMs / 1000)} s a call may wait`,
        );
      }
      const before = this.now();
      await this.sleep(Math.min(waitMs, RECHECK_MS));
      if (forLimits) limitedMs += this.now() - before;
    }
    this.stats.waitedMs += this.now() - started;
    this.stats.calls += 1;
    this.inFlight += 1;
    this.stats.peakInFlight = Math.max(this.stats.peakInFlight, this.inFlight);
    const charge = { requests: 1, inputTokens: cost.inputTokens, outputTokens: cost.outputTokens };
    for (const name of Object.keys(charge) as BucketName[]) {
      this.reserved[name] += charge[name];
      this.drawn[name] += charge[name];
    }
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight -= 1;
      for (const name of Object.keys(charge) as BucketName[]) this.reserved[name] -= charge[name];
      this.wake();
    };
  }

  /**
   * Reads an answer's headers (any status). Nonsense values (missing, negative, remaining above
   * the limit, an unreadable reset) are ignored: the window alone then sets the pace.
   */
  observe(status: number, headers: { get(name: string): string | null }): void {
    const at = this.now();
    for (const name of Object.keys(HEADER) as BucketName[]) {
      const prefix = `anthropic-ratelimit-${HEADER[name]}`;
      const limit = Number(headers.get(`${prefix}-limit`) ?? Number.NaN);
      const remaining = Number(headers.get(`${prefix}-remaining`) ?? Number.NaN);
      const fullAtMs = Date.parse(headers.get(`${prefix}-reset`) ?? "");
      if (!(limit > 0) || !(remaining >= 0) || remaining > limit || Number.isNaN(fullAtMs)) continue;
      this.buckets[name] = { limit, remaining, fullAtMs: Math.max(fullAtMs, at), readAtMs: at };
      this.stats.announced[name] = limit;
    }
    if (status === 429 || status === 529) {
      this.stats.throttled += 1;
      this.window = Math.max(1, Math.floor(this.window / 2));
      const retryAfter = retryAfterMs(headers);
      if (retryAfter !== null) this.blockedUntilMs = Math.max(this.blockedUntilMs, at + retryAfter);
    } else if (status < 400) {
      const room = this.affordable();
      this.window = Math.min(
        this.settings.ceiling,
        Math.max(this.window + (room === null ? 1 : 0), room ?? 0),
      );
    }
    this.wake();
  }

  /** 0 when the call may go now, else how long to wait before looking again, and whether for the limits. */
  private waitFor(cost: CallCost): { ms: number; forLimits: boolean } {
    const at = this.now();
    if (at < this.blockedUntilMs) return { ms: this.blockedUntilMs - at, forLimits: true };
    if (this.inFlight >= this.window) return { ms: RECHECK_MS, forLimits: false };
    const need = { requests: 1, inputTokens: cost.inputTokens, outputTokens: cost.outputTokens };
    let wait = 0;
    for (const name of Object.keys(need) as BucketName[]) {
      const bucket = this.buckets[name];
      if (!bucket) continue;
      // A call bigger than the whole bucket goes when the bucket is full and nothing else is out.
      const wanted = Math.min(need[name] + this.reserved[name], bucket.limit);
      const have = this.level(bucket, at);
      if (have >= wanted) continue;
      wait = Math.max(wait, Math.ceil((wanted - have) / refillPerMs(bucket)), 1);
    }
    return { ms: wait, forLimits: wait > 0 };
  }

  /** The bucket's level now: it refills evenly until it is full at its reset time. */
  private level(bucket: Bucket, at: number): number {
    if (at >= bucket.fullAtMs) return bucket.limit;
    const span = bucket.fullAtMs - bucket.readAtMs;
    if (span <= 0) return bucket.limit;
    const refilled = ((bucket.limit - bucket.remaining) * (at - bucket.readAtMs)) / span;
    return Math.min(bucket.limit, bucket.remaining + refilled);
  }

  /** How many calls like the average so far the announced buckets hold; null when none is announced. */
  private affordable(): number | null {
    const at = this.now();
    const calls = Math.max(1, this.stats.calls);
    let room: number | null = null;
    for (const name of Object.keys(this.buckets) as BucketName[]) {
      const bucket = this.buckets[name];
      if (!bucket) continue;
      const perCall = Math.max(1, this.drawn[name] / calls);
      const fits = Math.floor((this.level(bucket, at) - this.reserved[name]) / perCall) + this.inFlight;
      room = room === null ? fits : Math.min(room, fits);
    }
    return room === null ? null : Math.max(1, room);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakers.push(done);
    });
  }

  private wake(): void {
    const waiting = this.wakers;
    this.wakers = [];
    for (const wake of waiting) wake();
  }
}

/** The announced refill: empty to full between the read and the reset; a minute when it says nothing. */
function refillPerMs(bucket: Bucket): number {
  const span = bucket.fullAtMs - bucket.readAtMs;
  const missing = bucket.limit - bucket.remaining;
  return span > 0 && missing > 0 ? missing / span : bucket.limit / 60_000;
}

function retryAfterMs(headers: { get(name: string): string | null }): number | null {
  const ms = Number(headers.get("retry-after-ms") ?? Number.NaN);
  if (ms >= 0) return ms;
  const seconds = Number(headers.get("retry-after") ?? Number.NaN);
  return seconds >= 0 ? seconds * 1000 : null;
}

/**
 * A fetch for the Anthropic client that paces Messages calls (the SDK's own retries included)
 * and reads every answer's headers. Other endpoints (models, batches) pass straight through.
 * Cache reads do not count against input tokens per minute, so a prompt whose cached prefix was
 * answered in the last five minutes is charged for what follows the prefix only.
 */
export function pacedFetch(
  pace: ModelPace,
  inner: typeof fetch = fetch,
  now: () => number = Date.now,
): typeof fetch {
  const cachedUntil = new Map<string, number>();
  return async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!/\/v1\/messages(\?|$)/.test(url) || init?.method !== "POST") return inner(input, init);
    const cost = costOf(init.body);
    const cached = cost.prefix !== null && (cachedUntil.get(cost.prefix.key) ?? 0) > now();
    const end = await pace.acquire({
      inputTokens: cached && cost.prefix ? cost.inputTokens - cost.prefix.tokens : cost.inputTokens,
      outputTokens: cost.outputTokens,
    });
    try {
      const response = await inner(input, init);
      pace.observe(response.status, response.headers);
      if (response.ok && cost.prefix) cachedUntil.set(cost.prefix.key, now() + CACHE_TTL_MS);
      return response;
    } finally {
      end();
    }
  };
}

// The default prompt-cache lifetime; a read refreshes it, which only makes this estimate safer.
const CACHE_TTL_MS = 5 * 60_000;

/**
 * What a Messages request will draw: its text at 3.5 characters a token (more than tokenizers
 * give for prose and code, so the estimate errs on the side of waiting), and `max_tokens`, which
 * the provider charges up front. `prefix` is the part up to the last cache breakpoint.
 */
export function costOf(body: unknown): CallCost & { prefix: { key: string; tokens: number } | null } {
  if (typeof body !== "string") return { inputTokens: 0, outputTokens: 0, prefix: null };
  let parsed: { max_tokens?: unknown; system?: unknown; messages?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return { inputTokens: tokens(body), outputTokens: 0, prefix: null };
  }
  const blocks = [...blocksOf(parsed.system), ...blocksOf(parsed.messages)];
  const last = blocks.map((b) => b.cached).lastIndexOf(true);
  const prefixText = blocks
    .slice(0, last + 1)
    .map((b) => b.text)
    .join("\u0000");
  const maxTokens = typeof parsed.max_tokens === "number" ? parsed.max_tokens : 0;
  return {
    inputTokens: tokens(blocks.map((b) => b.text).join("")),
    outputTokens: maxTokens,
    // A digest, not the text: a night keeps one entry per commit, and a prefix can be 50 KB.
    prefix:
      last >= 0
        ? {
            key: createHash("sha256").update(prefixText).digest("hex").slice(0, 32),
            tokens: tokens(prefixText.replaceAll("\u0000", "")),
          }
        : null,
  };
}

function tokens(text: string): number {
  return Math.ceil(text.length / 3.5);
}

/** Text blocks in order, each with whether it carries a cache breakpoint. */
function blocksOf(value: unknown): Array<{ text: string; cached: boolean }> {
  if (typeof value === "string") return [{ text: value, cached: false }];
  if (Array.isArray(value)) return value.flatMap(blocksOf);
  if (value && typeof value === "object") {
    const { text, content, cache_control } = value as {
      text?: unknown;
      content?: unknown;
      cache_control?: unknown;
    };
    if (typeof text === "string") return [{ text, cached: cache_control !== undefined }];
    return blocksOf(content);
  }
  return [];
}
