import type { Message } from "@anthropic-ai/sdk/resources/messages/messages";
import { type FakeReply, type FakeServer, startFakeServer } from "./server.ts";

export type FakeAnswer =
  | { answer: unknown }
  | { text: string }
  | { stopReason: "refusal" | "max_tokens"; text?: string };

export interface MessagesRequest {
  model: string;
  max_tokens: number;
  system?: string | Array<{ type: string; text: string; cache_control?: unknown }>;
  messages: Array<{
    role: string;
    content: string | Array<{ type: string; text?: string; cache_control?: unknown }>;
  }>;
  output_config?: { format?: { type?: string; schema?: Record<string, unknown> } };
  [key: string]: unknown;
}

/** How the fake's Message Batches behave: how long they take, and what becomes of their items. */
export interface FakeBatchBehaviour {
  /** How long a batch stays in_progress (default 0: ended at the first poll). */
  processingMs?: number;
  /** Every item ends expired instead of answered (a batch that outlived its 24 h). */
  expire?: boolean;
}

export interface FakeAnthropic extends FakeServer {
  calls: MessagesRequest[];
  /** Requests that came through the Message Batches API, by batch. */
  batched: MessagesRequest[][];
  /** Requests refused with 429 because a bucket was short (the client went past the limit). */
  readonly overLimit: number;
}

/** Per-minute limits enforced as continuously refilling buckets, announced on every answer. */
export interface FakeRateLimits {
  requestsPerMinute: number;
  inputTokensPerMinute: number;
  outputTokensPerMinute: number;
  /** How long the fake's "minute" lasts (tests shorten it; headers say when buckets are full). */
  minuteMs?: number;
}

const MIN_CACHEABLE_TOKENS = 1024;
const SAMPLING = ["temperature", "top_p", "top_k"];
// The models GET /v1/models/{id} knows (late 2026 names).
const KNOWN_MODELS = ["claude-sonnet-5-5", "claude-opus-5-5", "claude-haiku-5-5"];

/**
 * The Messages API (POST /v1/messages) as far as tracefix uses it: request validation, a
 * scripted answer per request, and prompt caching simulated on the prefix up to the last
 * cache_control breakpoint, so cache reads are measured rather than assumed.
 */
export async function startFakeAnthropic(options: {
  apiKey: string;
  respond: (request: MessagesRequest, index: number) => FakeAnswer;
  limits?: FakeRateLimits;
  batches?: FakeBatchBehaviour;
}): Promise<FakeAnthropic> {
  // Prefix → when it was written: a request reads it only if it arrived after that.
  const cache = new Map<string, number>();
  const calls: MessagesRequest[] = [];
  const buckets = options.limits ? rateBuckets(options.limits) : null;
  let overLimit = 0;
  const batches = new Map<string, FakeBatch>();
  const batched: MessagesRequest[][] = [];
  let batchAnswered = 0;
  const server = await startFakeServer((request, url) => {
    // SDK 1.x sends the key as a bearer token; older clients use x-api-key. Both are accepted.
    const presented = request.headers["x-api-key"] ?? request.headers.authorization?.replace(/^Bearer /, "");
    const modelPath = /^\/v1\/models\/([^/]+)$/.exec(url.pathname);
    if (request.method === "GET" && modelPath) {
      if (presented !== options.apiKey) return error(401, "authentication_error", "invalid x-api-key");
      const id = decodeURIComponent(modelPath[1] ?? "");
      if (!KNOWN_MODELS.includes(id)) return error(404, "not_found_error", `model: ${id}`);
      return {
        status: 200,
        body: { type: "model", id, display_name: id, created_at: "2026-09-01T00:00:00Z" },
      };
    }
    if (url.pathname.startsWith("/v1/messages/batches")) {
      if (presented !== options.apiKey) return error(401, "authentication_error", "invalid x-api-key");
      return batchRoute(request.method, url, request.body, `http://${request.headers.host ?? "127.0.0.1"}`);
    }
    if (request.method !== "POST" || url.pathname !== "/v1/messages")
      return error(404, "not_found_error", `no route ${url.pathname}`);
    if (presented !== options.apiKey) return error(401, "authentication_error", "invalid x-api-key");
    if (!request.headers["anthropic-version"])
      return error(400, "invalid_request_error", "anthropic-version: header is required");
    const body = JSON.parse(request.body) as MessagesRequest;
    const problem = validate(body);
    if (problem) return error(400, "invalid_request_error", problem);
    const { prefix, total } = promptTokens(body);
    let cacheRead = 0;
    let cacheWrite = 0;
    const cached = prefix.tokens >= MIN_CACHEABLE_TOKENS ? cache.get(prefix.key) : undefined;
    if (prefix.tokens >= MIN_CACHEABLE_TOKENS) {
      if (cached !== undefined && cached <= request.receivedAt) cacheRead = prefix.tokens;
      else cacheWrite = prefix.tokens;
    }
    // Cache reads do not count against input tokens per minute; max_tokens is charged up front.
    const charged = buckets?.take(request.receivedAt, 1, total - cacheRead, body.max_tokens);
    if (charged && !charged.ok) {
      overLimit += 1;
      return {
        ...error(429, "rate_limit_error", "This request would exceed your organization's rate limit."),
        headers: { ...charged.headers, "retry-after": String(Math.ceil(charged.retryAfterMs / 1000)) },
      };
    }
    calls.push(body);
    if (cacheWrite > 0 && cached === undefined) cache.set(prefix.key, Date.now());
    const message = answer(body, calls.length - 1, total - cacheRead - cacheWrite, cacheRead, cacheWrite);
    return { status: 200, body: message, ...(charged ? { headers: charged.headers } : {}) };
  });
  return Object.assign(server, {
    calls,
    batched,
    get overLimit() {
      return overLimit;
    },
  });

  function answer(
    body: MessagesRequest,
    index: number,
    input: number,
    cacheRead: number,
    cacheWrite: number,
    tier: "standard" | "batch" = "standard",
  ): Message {
    const scripted = options.respond(body, index);
    const text = "answer" in scripted ? JSON.stringify(scripted.answer) : (scripted.text ?? "");
    return {
      id: `msg_fake_${index + 1}`,
      type: "message",
      role: "assistant",
      model: body.model,
      container: null,
      diagnostics: null,
      content: [{ type: "text", text, citations: null }],
      stop_reason: "stopReason" in scripted ? scripted.stopReason : "end_turn",
      stop_details: null,
      stop_sequence: null,
      usage: {
        input_tokens: input,
        output_tokens: Math.ceil(text.length / 4),
        cache_creation_input_tokens: cacheWrite,
        cache_read_input_tokens: cacheRead,
        cache_creation: null,
        inference_geo: null,
        output_tokens_details: null,
        server_tool_use: null,
        service_tier: tier,
        speed: null,
      },
    };
  }

  // The Message Batches API: create, retrieve (in_progress until processingMs has passed), cancel,
  // and results as JSONL in reverse order (results come in any order). Items are validated when
  // the batch is processed, so a bad one is an errored result, not a 400. They do not count
  // against the per-minute limits.
  function batchRoute(method: string, url: URL, text: string, origin: string): FakeReply {
    const [, id, action] =
      /^\/v1\/messages\/batches(?:\/([^/]+))?(?:\/(results|cancel))?$/.exec(url.pathname) ?? [];
    if (method === "POST" && !id) {
      let body: { requests?: Array<{ custom_id?: unknown; params?: MessagesRequest }> };
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        return error(400, "invalid_request_error", "body: invalid JSON");
      }
      const requests = body.requests;
      if (!Array.isArray(requests) || requests.length === 0)
        return error(400, "invalid_request_error", "requests: at least one request is required");
      const ids = requests.map((r) => r.custom_id);
      if (ids.some((c) => typeof c !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(c)))
        return error(400, "invalid_request_error", "requests.custom_id: must match ^[a-zA-Z0-9_-]{1,64}$");
      if (new Set(ids).size !== ids.length)
        return error(400, "invalid_request_error", "requests: custom_id values must be unique");
      const batch: FakeBatch = {
        id: `msgbatch_fake_${batches.size + 1}`,
        createdAt: Date.now(),
        requests: requests.map((r) => ({
          customId: String(r.custom_id),
          params: r.params ?? ({} as MessagesRequest),
        })),
        canceledAt: null,
        results: null,
      };
      batches.set(batch.id, batch);
      batched.push(batch.requests.map((r) => r.params));
      return { status: 200, body: batchJson(batch, origin) };
    }
    const batch = id ? batches.get(id) : undefined;
    if (!batch) return error(404, "not_found_error", `message batch ${id ?? ""} not found`);
    if (method === "POST" && action === "cancel") {
      batch.canceledAt ??= Date.now();
      return { status: 200, body: batchJson(batch, origin) };
    }
    if (method === "GET" && action === "results") {
      if (!ended(batch)) return error(400, "invalid_request_error", "the batch has not ended");
      const lines = resultsOf(batch)
        .map((r) => JSON.stringify(r))
        .reverse();
      return { status: 200, body: null, text: `${lines.join("\n")}\n` };
    }
    if (method === "GET" && !action) return { status: 200, body: batchJson(batch, origin) };
    return error(404, "not_found_error", `no route ${url.pathname}`);
  }

  function ended(batch: FakeBatch): boolean {
    return batch.canceledAt !== null || Date.now() - batch.createdAt >= (options.batches?.processingMs ?? 0);
  }

  function resultsOf(batch: FakeBatch) {
    batch.results ??= batch.requests.map(({ customId, params }) => {
      if (batch.canceledAt !== null) return { custom_id: customId, result: { type: "canceled" } };
      if (options.batches?.expire) return { custom_id: customId, result: { type: "expired" } };
      const problem = validate(params);
      if (problem)
        return {
          custom_id: customId,
          result: {
            type: "errored",
            error: { type: "error", error: { type: "invalid_request_error", message: problem } },
          },
        };
      // Batch items use the prompt cache too; the fake processes them in order.
      const { prefix, total } = promptTokens(params);
      let cacheRead = 0;
      let cacheWrite = 0;
      if (prefix.tokens >= MIN_CACHEABLE_TOKENS) {
        if (cache.has(prefix.key)) cacheRead = prefix.tokens;
        else {
          cacheWrite = prefix.tokens;
          cache.set(prefix.key, Date.now());
        }
      }
      const message = answer(
        params,
        calls.length + batchAnswered++,
        total - cacheRead - cacheWrite,
        cacheRead,
        cacheWrite,
        "batch",
      );
      return { custom_id: customId, result: { type: "succeeded", message } };
    });
    return batch.results;
  }

  function batchJson(batch: FakeBatch, origin: string) {
    const done = ended(batch);
    const results = done ? resultsOf(batch) : [];
    const count = (type: string) => results.filter((r) => r.result.type === type).length;
    return {
      id: batch.id,
      type: "message_batch",
      processing_status: done ? "ended" : batch.canceledAt !== null ? "canceling" : "in_progress",
      request_counts: {
        processing: done ? 0 : batch.requests.length,
        succeeded: count("succeeded"),
        errored: count("errored"),
        canceled: count("canceled"),
        expired: count("expired"),
      },
      created_at: new Date(batch.createdAt).toISOString(),
      expires_at: new Date(batch.createdAt + 86_400_000).toISOString(),
      ended_at: done ? new Date().toISOString() : null,
      cancel_initiated_at: batch.canceledAt !== null ? new Date(batch.canceledAt).toISOString() : null,
      archived_at: null,
      results_url: done ? `${origin}/v1/messages/batches/${batch.id}/results` : null,
    };
  }
}

interface FakeBatch {
  id: string;
  createdAt: number;
  requests: Array<{ customId: string; params: MessagesRequest }>;
  canceledAt: number | null;
  results: Array<{ custom_id: string; result: { type: string; [key: string]: unknown } }> | null;
}

/** Token buckets that refill evenly over a minute, with the headers the Messages API sends. */
function rateBuckets(limits: FakeRateLimits) {
  const names = ["requests", "input-tokens", "output-tokens"] as const;
  const perMinute = [limits.requestsPerMinute, limits.inputTokensPerMinute, limits.outputTokensPerMinute];
  const level = [...perMinute];
  const minuteMs = limits.minuteMs ?? 60_000;
  let lastMs = Date.now();
  const refill = (at: number) => {
    const elapsed = Math.max(0, at - lastMs);
    lastMs = Math.max(lastMs, at);
    perMinute.forEach((limit, i) => {
      level[i] = Math.min(limit, (level[i] ?? 0) + (limit * elapsed) / minuteMs);
    });
  };
  const headers = (at: number) =>
    Object.fromEntries(
      names.flatMap((name, i) => {
        const limit = perMinute[i] ?? 0;
        const have = level[i] ?? 0;
        const fullAt = new Date(at + ((limit - have) / limit) * minuteMs).toISOString();
        return [
          [`anthropic-ratelimit-${name}-limit`, String(limit)],
          [`anthropic-ratelimit-${name}-remaining`, String(Math.floor(have))],
          [`anthropic-ratelimit-${name}-reset`, fullAt],
        ];
      }),
    );
  return {
    take(receivedAt: number, ...cost: number[]) {
      // Charged when it arrived, as the provider does, whatever the simulated latency.
      const at = receivedAt;
      refill(at);
      const short = cost.map((c, i) => ((c - (level[i] ?? 0)) / (perMinute[i] ?? 1)) * minuteMs);
      const retryAfterMs = Math.max(0, ...short);
      if (retryAfterMs > 0) return { ok: false as const, retryAfterMs, headers: headers(at) };
      cost.forEach((c, i) => {
        level[i] = (level[i] ?? 0) - c;
      });
      return { ok: true as const, retryAfterMs: 0, headers: headers(at) };
    },
  };
}

function error(status: number, type: string, message: string): FakeReply {
  return { status, body: { type: "error", error: { type, message } } };
}

function validate(body: MessagesRequest): string | null {
  if (typeof body.model !== "string" || !/^claude-[\w.-]+$/.test(body.model))
    return `model: ${String(body.model)} is not a known model`;
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1 || body.max_tokens > 64_000)
    return "max_tokens: must be an integer from 1 to 64000";
  for (const key of SAMPLING) if (key in body) return `${key}: is not supported for this model`;
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return "messages: at least one message is required";
  if (body.messages[0]?.role !== "user") return "messages: the first message must use the user role";
  for (const [i, m] of body.messages.entries()) {
    if (i > 0 && m.role === body.messages[i - 1]?.role) return `messages.${i}: roles must alternate`;
    const blocks = typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content;
    if (!Array.isArray(blocks) || blocks.length === 0) return `messages.${i}.content: must not be empty`;
    for (const b of blocks)
      if (b.type !== "text" || !b.text) return `messages.${i}.content: text blocks need non-empty text`;
  }
  if (body.system !== undefined && typeof body.system !== "string") {
    if (!Array.isArray(body.system) || body.system.some((b) => b.type !== "text" || !b.text))
      return "system: must be a string or text blocks";
  }
  const breakpoints = [
    ...(Array.isArray(body.system) ? body.system : []),
    ...body.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [])),
  ]
    .map((b) => b.cache_control)
    .filter((c): c is Record<string, unknown> => c !== undefined);
  if (breakpoints.length > 4) return "A maximum of 4 blocks with cache_control may be provided";
  for (const c of breakpoints) {
    if (c.type !== "ephemeral") return "cache_control.type: must be ephemeral";
    if (c.ttl !== undefined && c.ttl !== "5m" && c.ttl !== "1h") return "cache_control.ttl: must be 5m or 1h";
  }
  const format = body.output_config?.format;
  if (format !== undefined) {
    if (format.type !== "json_schema" || !format.schema)
      return "output_config.format: type must be json_schema with a schema";
    const schemaProblem = strictObjects(format.schema, "schema");
    if (schemaProblem) return `output_config.format.${schemaProblem}`;
  }
  return null;
}

/** Structured outputs need closed objects whose properties are all required. */
function strictObjects(node: unknown, path: string): string | null {
  if (!node || typeof node !== "object") return null;
  const schema = node as Record<string, unknown>;
  if (schema.type === "object") {
    if (schema.additionalProperties !== false) return `${path}: objects must set additionalProperties: false`;
    const keys = Object.keys((schema.properties as object) ?? {});
    const required = (schema.required as string[]) ?? [];
    if (keys.some((k) => !required.includes(k))) return `${path}: every property must be required`;
  }
  for (const [key, value] of Object.entries(schema)) {
    const child = Array.isArray(value) ? value : [value];
    for (const [i, item] of child.entries()) {
      const problem = strictObjects(item, `${path}.${key}${Array.isArray(value) ? `.${i}` : ""}`);
      if (problem) return problem;
    }
  }
  return null;
}

/** ~4 characters per token; the prefix runs to the last block that carries cache_control. */
function promptTokens(body: MessagesRequest): { prefix: { key: string; tokens: number }; total: number } {
  const blocks = [
    ...(typeof body.system === "string" ? [{ text: body.system }] : (body.system ?? [])),
    ...body.messages.flatMap((m) =>
      typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content,
    ),
  ] as Array<{ text?: string; cache_control?: unknown }>;
  const lastBreakpoint = blocks.map((b) => b.cache_control !== undefined).lastIndexOf(true);
  const prefixText = blocks
    .slice(0, lastBreakpoint + 1)
    .map((b) => b.text ?? "")
    .join("\u0000");
  const allText = blocks.map((b) => b.text ?? "").join("\u0000");
  return {
    prefix: { key: `${body.model}\u0000${prefixText}`, tokens: Math.ceil(prefixText.length / 4) },
    total: Math.ceil(allText.length / 4),
  };
}

/** All text the request's user messages carry, for tests that look at what was sent. */
export function userText(request: MessagesRequest | undefined): string {
  return (request?.messages ?? [])
    .flatMap((m) => (typeof m.content === "string" ? [m.content] : m.content.map((b) => b.text ?? "")))
    .join("\n");
}
