/** What the query backends (SigNoz, Honeycomb) share: client settings and sampling limits. */
export interface BackendOptions {
  timeoutMs: number;
  retries: number;
  maxRetryDelayMs: number;
  /** How many of the largest server-side groups get sample spans (one request each). */
  sampleGroups: number;
}

export const SAMPLES_PER_QUERY = 5;
// How far back a commit must have run for it not to count as new in the window.
export const PRIOR_COMMIT_LOOKBACK_MS = 7 * 86_400_000;
// Server-side group rows fetched per run; past this the smallest groups are reported as left out.
export const MAX_GROUP_ROWS = 1000;

/** "service.name=billing exception.type=TypeError" for messages about one server-side group. */
export function describeKeys(keys: Record<string, string>): string {
  return Object.entries(keys)
    .filter(([, v]) => v !== "")
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}
