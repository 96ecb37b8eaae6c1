/**
 * One per external host (GitHub, Jira) per run. After the first connection-level failure
 * (refused, unknown host, unreachable network, a connect that timed out, a malformed URL), every
 * later call to that host fails at once instead of spending its own timeouts and retries: a dead
 * host must not cost a minute per group. Slow or failing replies (5xx) do not open it: the host
 * is there, and the clients' retries deal with those.
 */
export class HostCircuit {
  readonly service: string;
  readonly host: string;
  private openedBy: string | null = null;
  private fastFailures = 0;

  constructor(service: string, baseUrl: string) {
    this.service = service;
    this.host = hostOf(baseUrl);
  }

  get state(): { open: boolean; reason: string | null; failedFast: number } {
    return { open: this.openedBy !== null, reason: this.openedBy, failedFast: this.fastFailures };
  }

  /** Throws at once while open; opens on a connection-level failure of `call`. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.openedBy !== null) {
      this.fastFailures += 1;
      throw new HostUnreachableError(this.service, this.host, this.openedBy);
    }
    try {
      return await call();
    } catch (error) {
      const reason = connectionFailure(error);
      if (reason) {
        this.openedBy = reason;
        throw new HostUnreachableError(this.service, this.host, reason);
      }
      throw error;
    }
  }
}

export class HostUnreachableError extends Error {
  override readonly name = "HostUnreachableError";
  constructor(service: string, host: string, reason: string) {
    super(`${service} at ${host} is unreachable (${reason})`);
  }
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
  "ERR_INVALID_URL",
]);

/** The code of a connection that was never made, dug out of fetch's nested causes; else null. */
export function connectionFailure(error: unknown): string | null {
  let cursor: unknown = error;
  for (let depth = 0; cursor instanceof Error && depth < 6; depth++) {
    const code = (cursor as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_CODES.has(code)) return code;
    if (/bad port|invalid url/i.test(cursor.message)) return cursor.message;
    cursor = (cursor as { cause?: unknown }).cause;
  }
  return null;
}

function hostOf(baseUrl: string): string {
  try {
    return new URL(baseUrl).origin;
  } catch {
    return baseUrl;
  }
}
