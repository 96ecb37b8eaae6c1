import { Agent, type Dispatcher, interceptors, request } from "undici";

export interface JsonClientOptions {
  /** Human name used in every error, e.g. "SigNoz". */
  backend: string;
  baseUrl: string;
  headers: Record<string, string>;
  /** Per attempt: connect, response headers and body each get this long (undici checks about once a second). */
  timeoutMs: number;
  retries: number;
  /** Caps both exponential backoff and a server's Retry-After, so a run's wall time stays bounded. */
  maxRetryDelayMs: number;
  /** Sees every request with its status (null when none came back) and time: --verbose prints it. */
  onRequest?: (line: string) => void;
}

/** An HTTP failure of a telemetry backend, with the status when there was a response. */
export class BackendError extends Error {
  override readonly name = "BackendError";
  readonly backend: string;
  readonly status: number | null;
  constructor(backend: string, status: number | null, message: string) {
    super(`${backend}${status !== null ? ` HTTP ${status}` : ""}: ${message}`);
    this.backend = backend;
    this.status = status;
  }
}

export interface JsonClient {
  call(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown>;
  /** Logical requests made so far (retries of one request count once). */
  readonly requests: number;
  close(): Promise<void>;
}

const RETRIED_ERRORS = [
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
];

/**
 * JSON over undici with timeouts on every attempt and retries (429/5xx/connection errors,
 * honouring Retry-After) from undici's own retry interceptor. Query endpoints are POSTs that read
 * only, so POST is retried too.
 */
export function createJsonClient(options: JsonClientOptions): JsonClient {
  const dispatcher: Dispatcher = new Agent({
    connect: { timeout: options.timeoutMs },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  }).compose(
    interceptors.retry({
      maxRetries: options.retries,
      minTimeout: Math.min(250, options.maxRetryDelayMs),
      maxTimeout: options.maxRetryDelayMs,
      timeoutFactor: 2,
      methods: ["GET", "POST"],
      statusCodes: [429, 500, 502, 503, 504],
      errorCodes: RETRIED_ERRORS,
      retryAfter: true,
    }),
  );
  let requests = 0;
  const base = options.baseUrl.replace(/\/+$/, "");

  const send = async (method: string, path: string, body: unknown) => {
    try {
      const response = await request(`${base}${path}`, {
        method,
        dispatcher,
        headers: {
          accept: "application/json",
          ...options.headers,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { statusCode: response.statusCode, text: await response.body.text() };
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode ?? null;
      // With a status, undici's retry interceptor ran out of retries on a 429/5xx.
      const message =
        status !== null
          ? `gave up after ${options.retries} retries`
          : describeTransportError(error, options.baseUrl);
      throw new BackendError(options.backend, status, message);
    }
  };

  return {
    get requests() {
      return requests;
    },
    async call(method, path, body) {
      requests += 1;
      // A body cut off mid-JSON (a proxy dropping the connection) is worth one more try.
      for (let attempt = 1; ; attempt++) {
        const started = performance.now();
        const { statusCode, text } = await send(method, path, body).catch((error: unknown) => {
          options.onRequest?.(`${method} ${path} - failed in ${Math.round(performance.now() - started)} ms`);
          throw error;
        });
        options.onRequest?.(
          `${method} ${path} - ${statusCode} in ${Math.round(performance.now() - started)} ms`,
        );
        if (statusCode >= 400) throw new BackendError(options.backend, statusCode, errorMessageOf(text));
        try {
          return JSON.parse(text) as unknown;
        } catch {
          if (attempt > 1) {
            throw new BackendError(
              options.backend,
              statusCode,
              `invalid JSON in response (${text.length} bytes)`,
            );
          }
        }
      }
    },
    close: () => dispatcher.close(),
  };
}

/** SigNoz, Honeycomb and older SigNoz each shape errors differently; take the first message found. */
function errorMessageOf(text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const error = body.error;
    if (typeof error === "string") return error;
    if (error && typeof error === "object" && typeof (error as { message?: unknown }).message === "string") {
      return (error as { message: string }).message;
    }
    if (typeof body.message === "string") return body.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 200) || "no response body";
}

function describeTransportError(error: unknown, baseUrl: string): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (
    code === "UND_ERR_HEADERS_TIMEOUT" ||
    code === "UND_ERR_BODY_TIMEOUT" ||
    code === "UND_ERR_CONNECT_TIMEOUT"
  ) {
    return `timed out waiting for ${baseUrl} (${code})`;
  }
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH")
    return `cannot reach ${baseUrl} (${code})`;
  return message;
}
