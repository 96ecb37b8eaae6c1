import Anthropic from "@anthropic-ai/sdk";
import { zodOutputFormat } from "@anthropic-ai/sdk/helpers/zod";
import type { Message } from "@anthropic-ai/sdk/resources/messages/messages";
import { hooksFor } from "../detectors/kinds.ts";
import type { Evidence } from "../evidence/gather.ts";
import type { RankedGroup } from "../grouping/rank.ts";
import { type Analysis, type Analyst, ModelAnswerSchema } from "./analysis.ts";
import type { RunBudget, TokenUsage } from "./budget.ts";
import { type ModelPace, PaceWaitError, pacedFetch } from "./pace.ts";
import { buildPrompt, loadPrompt, type PromptTemplate } from "./prompt.ts";

export interface ClaudeOptions {
  apiKey: string;
  baseUrl: string | null;
  model: string;
  maxOutputTokens: number;
  inputBudgetTokens: number;
  diffTokenBudget: number;
  timeoutMs: number;
  retries: number;
  /** Let groups of one commit wait for the first call to write the cache (cheaper, slower). */
  cacheWarmup: boolean;
}

/** A group whose analysis cannot be used: refusal, truncated or invalid output. */
export class AnalysisFailedError extends Error {
  override readonly name = "AnalysisFailedError";
}

const OUTPUT_FORMAT = zodOutputFormat(ModelAnswerSchema);

/**
 * Claude via the Messages API with structured output. Groups of one commit share a cached prefix;
 * the first call for each prefix goes alone so the others can read the cache it writes.
 */
export class ClaudeAnalyst implements Analyst {
  readonly name = "claude" as const;
  private readonly client: Anthropic;
  private readonly options: ClaudeOptions;
  private readonly budget: RunBudget;
  private readonly prompts: Record<
    "exception" | "agent" | "cost-regression" | "agent-behaviour",
    PromptTemplate
  >;
  private readonly warming = new Map<string, Promise<unknown>>();

  constructor(options: ClaudeOptions, budget: RunBudget, pace: ModelPace | null = null) {
    this.options = options;
    this.budget = budget;
    // A batch job sets both deliberately: the SDK default is 10 minutes per attempt. Every
    // Messages request, the SDK's retries included, waits for the pace the provider announces.
    this.client = new Anthropic({
      apiKey: options.apiKey,
      ...(options.baseUrl ? { baseURL: options.baseUrl } : {}),
      timeout: options.timeoutMs,
      maxRetries: options.retries,
      ...(pace ? { fetch: pacedFetch(pace) } : {}),
    });
    this.prompts = {
      exception: loadPrompt("root-cause"),
      agent: loadPrompt("agent-failure"),
      "cost-regression": loadPrompt("cost-regression"),
      "agent-behaviour": loadPrompt("agent-behaviour"),
    };
  }

  get promptVersions(): string[] {
    return Object.values(this.prompts).map((p) => p.version);
  }

  /** The Messages request for a group, and the prompt it came from. */
  request(group: RankedGroup, evidence: Evidence) {
    const kindPrompt = hooksFor(group)?.prompt;
    const template = kindPrompt
      ? this.prompts[kindPrompt]
      : group.kind === "agent_stop_failure"
        ? this.prompts.agent
        : this.prompts.exception;
    const prompt = buildPrompt(
      group,
      evidence,
      template,
      this.options.inputBudgetTokens,
      this.options.diffTokenBudget,
    );
    const params = {
      model: this.options.model,
      max_tokens: this.options.maxOutputTokens,
      system: prompt.system,
      messages: [{ role: "user" as const, content: prompt.userBlocks }],
      output_config: { format: OUTPUT_FORMAT },
    };
    return { prompt, params };
  }

  get maxOutputTokens(): number {
    return this.options.maxOutputTokens;
  }

  get anthropic(): Anthropic {
    return this.client;
  }

  async analyse(group: RankedGroup, evidence: Evidence): Promise<Analysis> {
    const { prompt, params } = this.request(group, evidence);
    const first = this.options.cacheWarmup ? this.warming.get(prompt.prefixKey) : undefined;
    if (first) await first.catch(() => undefined);
    const send = () => {
      const reservation = this.budget.reserve(prompt.estimatedInputTokens, this.options.maxOutputTokens);
      const call = this.client.messages.create(params);
      return { reservation, call };
    };
    let { reservation, call } = send();
    // Only the settling is kept, not the call: an SDK promise holds its request, the whole prompt.
    if (!first)
      this.warming.set(
        prompt.prefixKey,
        call.then(
          () => undefined,
          () => undefined,
        ),
      );
    let message: Awaited<typeof call>;
    try {
      message = await call;
    } catch (error) {
      this.budget.settle(reservation, null);
      // The SDK reports a call the pace refused as a connection error; say what it was.
      const cause = (error as { cause?: unknown }).cause;
      if (cause instanceof PaceWaitError) throw cause;
      // A body cut off in transit is not an API error the SDK retries; one more try, on the budget.
      if (!(error instanceof SyntaxError)) throw error;
      ({ reservation, call } = send());
      try {
        message = await call;
      } catch (again) {
        this.budget.settle(reservation, null);
        throw again;
      }
    }
    const usage = this.budget.settle(reservation, usageOf(message));
    return interpret(message, prompt.promptVersion, usage);
  }
}

export function usageOf(message: Message): Omit<TokenUsage, "costUsd"> {
  return {
    inputTokens: message.usage.input_tokens,
    outputTokens: message.usage.output_tokens,
    cacheReadTokens: message.usage.cache_read_input_tokens ?? 0,
    cacheCreationTokens: message.usage.cache_creation_input_tokens ?? 0,
  };
}

/** A model answer as an analysis, or the reason it cannot be one (refusal, truncation, bad JSON). */
export function interpret(message: Message, promptVersion: string, usage: TokenUsage): Analysis {
  if (message.stop_reason !== "end_turn") {
    throw new AnalysisFailedError(
      `model stopped with ${message.stop_reason ?? "no stop reason"}; the answer is incomplete`,
    );
  }
  const text = message.content.flatMap((block) => (block.type === "text" ? [block.text] : [])).join("");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AnalysisFailedError(`model output is not JSON (${text.length} characters)`);
  }
  const answer = ModelAnswerSchema.safeParse(json);
  if (!answer.success) {
    const issue = answer.error.issues[0];
    throw new AnalysisFailedError(
      `model output does not match the schema: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`,
    );
  }
  const { suspect, ...rest } = answer.data;
  return {
    ...rest,
    analyst: "claude",
    model: message.model,
    suspect: suspect
      ? {
          commitSha: suspect.commitSha,
          path: suspect.path,
          ...(suspect.line !== null ? { line: suspect.line } : {}),
          why: suspect.why,
        }
      : null,
    promptVersion,
    usage,
  };
}
