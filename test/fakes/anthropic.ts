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

export interface FakeAnthropic extends FakeServer {
  calls: MessagesRequest[];
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
}): Promise<FakeAnthropic> {
  // Prefix → when it was written: a request reads it only if it arrived after that.
  const cache = new Map<string, number>();
  const calls: MessagesRequest[] = [];
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
    if (request.method !== "POST" || url.pathname !== "/v1/messages")
      return error(404, "not_found_error", `no route ${url.pathname}`);
    if (presented !== options.apiKey) return error(401, "authentication_error", "invalid x-api-key");
    if (!request.headers["anthropic-version"])
      return error(400, "invalid_request_error", "anthropic-version: header is required");
    const body = JSON.parse(request.body) as MessagesRequest;
    const problem = validate(body);
    if (problem) return error(400, "invalid_request_error", problem);
    calls.push(body);
    const { prefix, total } = promptTokens(body);
    let cacheRead = 0;
    let cacheWrite = 0;
    if (prefix.tokens >= MIN_CACHEABLE_TOKENS) {
      const writtenAt = cache.get(prefix.key);
      if (writtenAt !== undefined && writtenAt <= request.receivedAt) cacheRead = prefix.tokens;
      else {
        cacheWrite = prefix.tokens;
        if (writtenAt === undefined) cache.set(prefix.key, Date.now());
      }
    }
    const scripted = options.respond(body, calls.length - 1);
    const text = "answer" in scripted ? JSON.stringify(scripted.answer) : (scripted.text ?? "");
    const message: Message = {
      id: `msg_fake_${calls.length}`,
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
        input_tokens: total - cacheRead - cacheWrite,
        output_tokens: Math.ceil(text.length / 4),
        cache_creation_input_tokens: cacheWrite,
        cache_read_input_tokens: cacheRead,
        cache_creation: null,
        inference_geo: null,
        output_tokens_details: null,
        server_tool_use: null,
        service_tier: "standard",
        speed: null,
      },
    };
    return { status: 200, body: message };
  });
  return Object.assign(server, { calls });
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
