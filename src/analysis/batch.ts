import type { Message } from "@anthropic-ai/sdk/resources/messages/messages";
import type { Evidence } from "../evidence/gather.ts";
import type { RankedGroup } from "../grouping/rank.ts";
import type { Analysis, Analyst } from "./analysis.ts";
import type { RunBudget } from "./budget.ts";
import { AnalysisFailedError, type ClaudeAnalyst, interpret, usageOf } from "./claude.ts";

/** The Message Batches API charges half the Messages price. */
export const BATCH_PRICE_FACTOR = 0.5;

export interface BatchSettings {
  /** How long the night waits for the batch before the rest goes through the Messages API. */
  maxWaitMs: number;
  /** First wait between polls; it grows by half each time, up to `maxPollMs`. */
  firstPollMs: number;
  maxPollMs: number;
}

export interface BatchOutcome {
  id: string | null;
  /** ended: results read; timed_out: not done within the wait, canceled; failed: could not submit or read. */
  status: "ended" | "timed_out" | "failed" | "not_needed";
  submitted: number;
  byBatch: number;
  /** Groups sent through the Messages API instead (the batch failed, timed out or expired them). */
  bySync: number;
  waitedMs: number;
  /** What the batch saved against the same tokens at the Messages price. */
  savedUsd: number;
  reason: string | null;
}

interface Pending {
  id: string;
  group: RankedGroup;
  evidence: Evidence;
  promptVersion: string;
  params: ReturnType<ClaudeAnalyst["request"]>["params"];
  estimatedInputTokens: number;
  resolve: (analysis: Analysis) => void;
  reject: (error: unknown) => void;
}

/**
 * Claude through the Message Batches API, for nights when the report can wait: the same prompts,
 * structured output and cache markers, at half the price. Groups queue their requests while
 * evidence is gathered; `flush()` (once every group has its evidence) sends one batch, polls it
 * with a growing wait, and answers each group from its result. What the batch does not answer
 * (timed out, canceled, expired, or a batch that could not be sent or read) goes through the
 * Messages API, and the outcome says which went which way.
 */
export class BatchAnalyst implements Analyst {
  readonly name = "claude" as const;
  private readonly claude: ClaudeAnalyst;
  private readonly budget: RunBudget;
  private readonly settings: BatchSettings;
  private readonly now: () => number;
  private pending: Pending[] = [];
  private flushed = false;
  readonly outcome: BatchOutcome = {
    id: null,
    status: "not_needed",
    submitted: 0,
    byBatch: 0,
    bySync: 0,
    waitedMs: 0,
    savedUsd: 0,
    reason: null,
  };

  constructor(
    claude: ClaudeAnalyst,
    budget: RunBudget,
    settings: BatchSettings,
    now: () => number = Date.now,
  ) {
    this.claude = claude;
    this.budget = budget;
    this.settings = settings;
    this.now = now;
  }

  get promptVersions(): string[] {
    return this.claude.promptVersions;
  }

  analyse(group: RankedGroup, evidence: Evidence): Promise<Analysis> {
    // A group that arrives after the batch went out (it should not) is not left waiting.
    if (this.flushed) return this.sync(group, evidence);
    const { prompt, params } = this.claude.request(group, evidence);
    return new Promise((resolve, reject) => {
      this.pending.push({
        id: `g${this.pending.length + 1}`,
        group,
        evidence,
        promptVersion: prompt.promptVersion,
        params,
        estimatedInputTokens: prompt.estimatedInputTokens,
        resolve,
        reject,
      });
    });
  }

  /** Sends what is queued as one batch and answers every queued group, one way or another. */
  async flush(): Promise<void> {
    if (this.flushed) return;
    this.flushed = true;
    const queued = this.pending;
    this.pending = [];
    if (queued.length === 0) return;
    const client = this.claude.anthropic;
    const started = this.now();
    const reservations = new Map<string, number>();
    // What the run can afford goes in the batch; the rest is skipped as the Messages path would.
    const sendable: Pending[] = [];
    for (const item of queued) {
      try {
        reservations.set(
          item.id,
          this.budget.reserve(item.estimatedInputTokens, this.claude.maxOutputTokens, BATCH_PRICE_FACTOR),
        );
        sendable.push(item);
      } catch (error) {
        item.reject(error);
      }
    }
    if (sendable.length === 0) return;
    let leftover: Pending[] = sendable;
    try {
      const batch = await client.messages.batches.create({
        requests: sendable.map((item) => ({ custom_id: item.id, params: item.params })),
      });
      this.outcome.id = batch.id;
      this.outcome.submitted = sendable.length;
      this.outcome.status = await this.waitFor(batch.id, started);
      if (this.outcome.status === "ended") {
        const byId = new Map(sendable.map((item) => [item.id, item]));
        const answered = new Set<string>();
        for await (const line of await client.messages.batches.results(batch.id)) {
          const item = byId.get(line.custom_id);
          if (!item || answered.has(item.id)) continue;
          if (line.result.type === "succeeded") {
            answered.add(item.id);
            this.answer(item, line.result.message, reservations.get(item.id) ?? 0);
          } else if (line.result.type === "errored") {
            // The request itself was refused: the Messages API would refuse it too.
            answered.add(item.id);
            this.budget.settle(reservations.get(item.id) ?? 0, null);
            item.reject(
              new AnalysisFailedError(`the batch refused the request: ${errorText(line.result.error)}`),
            );
          }
        }
        leftover = sendable.filter((item) => !answered.has(item.id));
        if (leftover.length > 0)
          this.outcome.reason = `${leftover.length} request(s) canceled or expired in the batch; sent through the Messages API`;
      } else {
        await client.messages.batches.cancel(batch.id).catch(() => undefined);
        this.outcome.reason = `the batch was not done within ${Math.round(this.settings.maxWaitMs / 1000)} s; canceled, and the rest sent through the Messages API`;
      }
    } catch (error) {
      this.outcome.status = "failed";
      this.outcome.reason = `the batch failed (${error instanceof Error ? error.message : String(error)}); sent through the Messages API`;
    } finally {
      this.outcome.waitedMs = this.now() - started;
    }
    for (const item of leftover) {
      this.budget.settle(reservations.get(item.id) ?? 0, null);
      reservations.delete(item.id);
    }
    this.outcome.bySync += leftover.length;
    await Promise.all(
      leftover.map((item) => this.claude.analyse(item.group, item.evidence).then(item.resolve, item.reject)),
    );
  }

  private answer(item: Pending, message: Message, reservation: number): void {
    const tokens = usageOf(message);
    const usage = this.budget.settle(reservation, tokens, BATCH_PRICE_FACTOR);
    this.outcome.byBatch += 1;
    // Half of what the same tokens cost at the Messages price.
    this.outcome.savedUsd =
      Math.round((this.outcome.savedUsd + usage.costUsd * (1 / BATCH_PRICE_FACTOR - 1)) * 1e6) / 1e6;
    try {
      item.resolve({ ...interpret(message, item.promptVersion, usage), via: "batch" });
    } catch (error) {
      item.reject(error);
    }
  }

  /** Polls until the batch has ended, growing the wait by half each time, within the bound. */
  private async waitFor(id: string, started: number): Promise<"ended" | "timed_out"> {
    let wait = this.settings.firstPollMs;
    for (;;) {
      const batch = await this.claude.anthropic.messages.batches.retrieve(id);
      if (batch.processing_status === "ended") return "ended";
      const left = this.settings.maxWaitMs - (this.now() - started);
      if (left <= 0) return "timed_out";
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, left)));
      wait = Math.min(this.settings.maxPollMs, Math.round(wait * 1.5));
    }
  }

  private sync(group: RankedGroup, evidence: Evidence): Promise<Analysis> {
    this.outcome.bySync += 1;
    return this.claude.analyse(group, evidence);
  }
}

function errorText(error: unknown): string {
  const inner = (error as { error?: { type?: string; message?: string } }).error;
  return inner?.message ? `${inner.type ?? "error"}: ${inner.message}` : JSON.stringify(error);
}
