import type { RunConfig } from "./config.ts";
import { createGitHubClient, type GitHubClient } from "./evidence/github.ts";
import { HostCircuit, HostUnreachableError } from "./evidence/host-circuit.ts";
import type { JiraClient, JiraReader } from "./evidence/jira.ts";
import type { Progress } from "./progress.ts";

export interface Clients {
  github: GitHubClient | null;
  jira: JiraClient | null;
  /** One per host: after a refused connection, the rest of the run's calls to it fail at once. */
  circuits: { github: HostCircuit | null; jira: HostCircuit | null };
}

/**
 * One GitHub and one Jira client per run, shared by evidence reads and the live sink. jira.js and
 * the Anthropic SDK are loaded only when configured: together they are ~90 MB of a run's memory.
 */
export async function createClients(config: RunConfig, progress: Progress): Promise<Clients> {
  const circuits = {
    github: config.github ? new HostCircuit("GitHub", config.github.apiUrl) : null,
    jira: config.jira ? new HostCircuit("Jira", config.jira.baseUrl) : null,
  };
  return {
    circuits,
    github: config.github
      ? createGitHubClient({
          token: config.github.token,
          apiUrl: config.github.apiUrl,
          timeoutMs: config.telemetry.timeoutMs,
          retries: config.telemetry.retries,
          throttle: config.githubThrottle,
          ...(circuits.github ? { circuit: circuits.github } : {}),
          log: (line) => progress.detail(`github: ${line}`),
        })
      : null,
    jira: config.jira ? (await import("./evidence/jira.ts")).createJiraClient({ ...config.jira }) : null,
  };
}

/** Jira reads through the host's circuit: a dead Jira fails each later read at once. */
export function guardedReader(reader: JiraReader, circuit: HostCircuit | null): JiraReader {
  if (!circuit) return reader;
  return {
    read: (key) => circuit.run(() => reader.read(key)),
    describe: (key, error) =>
      error instanceof HostUnreachableError
        ? `Jira issue ${key} not read: ${error.message}`
        : reader.describe(key, error),
  };
}
