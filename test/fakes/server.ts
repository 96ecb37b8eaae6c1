import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Fault =
  | { kind: "status"; status: number; retryAfterSeconds?: number; body?: unknown }
  | { kind: "delay"; ms: number }
  | { kind: "truncate" }
  | { kind: "reset" }
  /**
   * The write is applied, then its reply is lost: a proxy's 502 after the write, a reset, or a
   * reply slower than the client's timeout. The client cannot tell whether anything happened.
   */
  | { kind: "lost"; reply: "502" | "reset" | "slow"; ms?: number }
  /**
   * Something else happens first: the server awaits `run` (another client's writes, say) and then
   * answers normally. It makes an overlap of two runs exact instead of a matter of timing.
   */
  | { kind: "before"; run: () => Promise<unknown> };

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  /** When the request arrived (before any simulated latency), in ms since the epoch. */
  receivedAt: number;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface FakeReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Sent as is instead of JSON (e.g. GitHub's diff media type). */
  text?: string;
}

export type FakeHandler = (request: RecordedRequest, url: URL) => FakeReply | Promise<FakeReply>;

export interface ChaosSettings {
  /** Share of requests that get a fault, 0..1. */
  rate: number;
  /** Share of the faulted writes whose fault is applied-then-lost rather than refused (default 0.3). */
  lostWriteShare?: number;
  seed: number;
  /** How long a "slow" reply waits: set it past the client's timeout. */
  slowMs: number;
}

export interface FakeServer {
  url: string;
  requests: RecordedRequest[];
  /** A fixed delay before every reply, to simulate network and service latency in benchmarks. */
  latency(ms: number): void;
  /** Seeded random faults on a share of all requests, from now on; counts by kind. */
  chaos(settings: ChaosSettings | null): void;
  readonly faultsInjected: Record<string, number>;
  /** Queue faults for the next matching requests (all requests when no filter is given). */
  inject(
    fault: Fault,
    options?: { pathPrefix?: string; times?: number; match?: (request: RecordedRequest) => boolean },
  ): void;
  close(): Promise<void>;
}

/** mulberry32: reproducible fault sequences from a seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A loopback HTTP server (127.0.0.1, random port) shared by every fake; faults run before the handler. */
export async function startFakeServer(handler: FakeHandler): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const faultsInjected: Record<string, number> = {};
  let chaos: (ChaosSettings & { random: () => number }) | null = null;
  let latencyMs = 0;
  const faults: Array<{
    fault: Fault;
    pathPrefix: string;
    times: number;
    match: (r: RecordedRequest) => boolean;
  }> = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const recorded: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.search,
      receivedAt: Date.now(),
      headers: req.headers,
      body: Buffer.concat(chunks).toString("utf8"),
    };
    requests.push(recorded);
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    const queued = faults.find(
      (f) => f.times > 0 && url.pathname.startsWith(f.pathPrefix) && f.match(recorded),
    );
    if (queued) queued.times -= 1;
    const fault = queued?.fault ?? chaosFault(recorded);
    if (fault) {
      const kind =
        fault.kind === "status"
          ? String(fault.status)
          : fault.kind === "lost"
            ? `lost-${fault.reply}`
            : fault.kind;
      faultsInjected[kind] = (faultsInjected[kind] ?? 0) + 1;
      if (fault.kind === "lost") {
        // Apply first, exactly as a real server behind a failing proxy would.
        await handler(recorded, url);
        if (fault.reply === "reset") {
          req.socket.destroy();
          return;
        }
        if (fault.reply === "slow") {
          await new Promise((resolve) => setTimeout(resolve, fault.ms ?? chaos?.slowMs ?? 2_000));
          if (res.destroyed) return;
        }
        res.writeHead(502, { "content-type": "text/html" });
        res.end("<html><body><h1>502 Bad Gateway</h1></body></html>");
        return;
      }
      if (fault.kind === "reset") {
        req.socket.destroy();
        return;
      }
      if (fault.kind === "status") {
        res.writeHead(fault.status, {
          "content-type": "application/json",
          ...(fault.retryAfterSeconds !== undefined
            ? { "retry-after": String(fault.retryAfterSeconds) }
            : {}),
        });
        res.end(JSON.stringify(fault.body ?? { error: `injected ${fault.status}` }));
        return;
      }
      if (fault.kind === "delay") await new Promise((resolve) => setTimeout(resolve, fault.ms));
      if (fault.kind === "before") await fault.run();
      if (fault.kind === "truncate") {
        const reply = await handler(recorded, url);
        const text = JSON.stringify(reply.body);
        res.writeHead(reply.status, { "content-type": "application/json" });
        res.end(text.slice(0, Math.max(1, Math.floor(text.length / 2))));
        return;
      }
    }
    try {
      const reply = await handler(recorded, url);
      if (res.destroyed) return;
      res.writeHead(reply.status, {
        "content-type": reply.text !== undefined ? "text/plain" : "application/json",
        ...reply.headers,
      });
      res.end(reply.text ?? JSON.stringify(reply.body));
    } catch (error) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
    }
  });
  function chaosFault(request: RecordedRequest): Fault | null {
    if (!chaos || chaos.random() >= chaos.rate) return null;
    if (WRITE_METHODS.has(request.method) && chaos.random() < (chaos.lostWriteShare ?? 0.3)) {
      const reply = (["502", "reset", "slow"] as const)[Math.floor(chaos.random() * 3)] ?? "502";
      return { kind: "lost", reply };
    }
    const pick = chaos.random();
    if (pick < 0.25)
      return { kind: "status", status: 429, retryAfterSeconds: 0, body: { error: "rate limited (chaos)" } };
    if (pick < 0.55)
      return {
        kind: "status",
        status: [500, 502, 503][Math.floor(chaos.random() * 3)] ?? 503,
        body: { error: "chaos" },
      };
    if (pick < 0.7) return { kind: "reset" };
    if (pick < 0.85) return { kind: "delay", ms: chaos.slowMs };
    return { kind: "truncate" };
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    faultsInjected,
    latency(ms) {
      latencyMs = ms;
    },
    chaos(settings) {
      chaos = settings ? { ...settings, random: seeded(settings.seed) } : null;
    },
    inject(fault, options = {}) {
      faults.push({
        fault,
        pathPrefix: options.pathPrefix ?? "/",
        times: options.times ?? 1,
        match: options.match ?? (() => true),
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
