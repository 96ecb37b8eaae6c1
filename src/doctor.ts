import type { ServiceSettings } from "./config.ts";
import { connectionFailure } from "./evidence/host-circuit.ts";

/**
 * `triage doctor`: every configured credential and endpoint checked without a run, like
 * `gh auth status`. Each check makes one or two read-only calls and says what it found and what
 * is missing (GitHub push access, Jira create/comment/link, the Honeycomb Run Queries permission).
 */
export interface CheckResult {
  service: string;
  status: "ok" | "failed" | "not configured";
  detail: string;
}

const JIRA_PERMISSIONS = ["BROWSE_PROJECTS", "CREATE_ISSUES", "ADD_COMMENTS", "LINK_ISSUES"] as const;

export async function runDoctor(settings: ServiceSettings): Promise<CheckResult[]> {
  return Promise.all([
    check("SigNoz", settings.signoz, "SIGNOZ_URL, SIGNOZ_API_KEY", (s) => checkSignoz(s, settings.timeoutMs)),
    check("Honeycomb", settings.honeycomb, "HONEYCOMB_API_KEY, HONEYCOMB_DATASET", (s) =>
      checkHoneycomb(s, settings.timeoutMs),
    ),
    check("GitHub", settings.github, "GITHUB_TOKEN", (s) => checkGitHub(s, settings)),
    check("Jira", settings.jira, "JIRA_BASE_URL, JIRA_USER, JIRA_API_TOKEN, JIRA_PROJECT", checkJira),
    check("Anthropic", settings.anthropic, "ANTHROPIC_API_KEY", (s) => checkAnthropic(s, settings.timeoutMs)),
  ]);
}

export function renderDoctor(results: readonly CheckResult[]): string {
  const mark = { ok: "✓", failed: "✗", "not configured": "–" } as const;
  return `${results.map((r) => `${mark[r.status]} ${r.service.padEnd(10)} ${r.detail}`).join("\n")}\n`;
}

async function check<T>(
  service: string,
  settings: T | null,
  variables: string,
  run: (settings: T) => Promise<string>,
): Promise<CheckResult> {
  if (!settings) return { service, status: "not configured", detail: `set ${variables} to use it` };
  try {
    return { service, status: "ok", detail: await run(settings) };
  } catch (error) {
    return { service, status: "failed", detail: error instanceof Error ? error.message : String(error) };
  }
}

/** One attempt, no retries: a check reports what the service says right now. */
async function probeClient(
  backend: string,
  baseUrl: string,
  headers: Record<string, string>,
  timeoutMs: number,
) {
  const { createJsonClient } = await import("./telemetry/http.ts");
  return createJsonClient({ backend, baseUrl, headers, timeoutMs, retries: 0, maxRetryDelayMs: 0 });
}

async function checkSignoz(s: NonNullable<ServiceSettings["signoz"]>, timeoutMs: number): Promise<string> {
  const client = await probeClient("SigNoz", s.url, { "SIGNOZ-API-KEY": s.apiKey }, timeoutMs);
  const end = Date.now();
  try {
    await client.call("POST", "/api/v5/query_range", {
      schemaVersion: "v1",
      start: end - 60_000,
      end,
      requestType: "scalar",
      compositeQuery: {
        queries: [
          {
            type: "builder_query",
            spec: {
              name: "A",
              signal: "traces",
              filter: { expression: "has_error = true" },
              aggregations: [{ expression: "count()" }],
              order: [{ key: { name: "count()" }, direction: "desc" }],
              limit: 1,
            },
          },
        ],
      },
    });
  } finally {
    await client.close();
  }
  return `${s.url}: the key ran a trace query`;
}

async function checkHoneycomb(
  s: NonNullable<ServiceSettings["honeycomb"]>,
  timeoutMs: number,
): Promise<string> {
  const client = await probeClient("Honeycomb", s.apiUrl, { "X-Honeycomb-Team": s.apiKey }, timeoutMs);
  try {
    const auth = (await client.call("GET", "/1/auth")) as {
      api_key_access?: Record<string, boolean>;
      team?: { slug?: string };
      environment?: { slug?: string };
    };
    if (auth.api_key_access?.queries === false)
      throw new Error(
        `${s.apiUrl}: the key lacks the Run Queries permission (and Manage Queries and Columns)`,
      );
    const where = [auth.team?.slug, auth.environment?.slug].filter(Boolean).join("/");
    return `${s.apiUrl}: key for ${where || "this team"}, dataset ${s.dataset}; queries allowed`;
  } finally {
    await client.close();
  }
}

async function checkGitHub(
  s: NonNullable<ServiceSettings["github"]>,
  settings: ServiceSettings,
): Promise<string> {
  const { createGitHubClient } = await import("./evidence/github.ts");
  const octokit = createGitHubClient({
    token: s.token,
    apiUrl: s.apiUrl,
    timeoutMs: settings.timeoutMs,
    retries: 0,
  });
  const me = await octokit.rest.users.getAuthenticated().catch((error: unknown) => {
    throw new Error(`${s.apiUrl}: ${describeStatus(error, "GITHUB_TOKEN", "GITHUB_API_URL")}`);
  });
  const scopes = me.headers["x-oauth-scopes"];
  const who = `${s.apiUrl}: signed in as ${me.data.login}${scopes !== undefined ? ` (scopes: ${scopes || "none"})` : ""}`;
  const repositories = [
    ...new Set([s.repository, ...Object.values(settings.services).map((m) => m.repo)].filter(Boolean)),
  ] as string[];
  if (repositories.length === 0) return `${who}; no repository configured (GITHUB_REPOSITORY or "services")`;
  const notes: string[] = [];
  for (const slug of repositories) {
    const [owner = "", repo = ""] = slug.split("/");
    const { data } = await octokit.rest.repos.get({ owner, repo }).catch((error: unknown) => {
      throw new Error(
        `${who}; ${slug}: ${describeStatus(error, "the token's access to it", "GITHUB_API_URL")}`,
      );
    });
    if (!data.permissions?.push)
      throw new Error(`${who}; ${slug}: read-only — draft PRs need contents and pull-requests write access`);
    notes.push(`${slug} read+write`);
  }
  return `${who}; ${notes.join(", ")}`;
}

async function checkJira(s: NonNullable<ServiceSettings["jira"]>): Promise<string> {
  const { createJiraClient } = await import("./evidence/jira.ts");
  const jira = createJiraClient({
    baseUrl: s.baseUrl,
    user: s.user,
    apiToken: s.apiToken,
    onSchemaMismatch: s.onSchemaMismatch,
  });
  const me = await jira.myself.getCurrentUser().catch((error: unknown) => {
    throw new Error(
      `${s.baseUrl}: ${describeStatus(error, "JIRA_USER and JIRA_API_TOKEN", "JIRA_BASE_URL")}`,
    );
  });
  const granted = await jira.permissions.getMyPermissions({
    projectKey: s.project,
    permissions: JIRA_PERMISSIONS.join(","),
  });
  const missing = JIRA_PERMISSIONS.filter(
    (p) => (granted.permissions?.[p] as { havePermission?: boolean } | undefined)?.havePermission !== true,
  );
  const who = `${s.baseUrl}: signed in as ${me.displayName ?? me.emailAddress ?? me.accountId ?? s.user}`;
  if (missing.length > 0) throw new Error(`${who}; project ${s.project} lacks ${missing.join(", ")}`);
  return `${who}; project ${s.project}: browse, create, comment and link allowed`;
}

async function checkAnthropic(
  s: NonNullable<ServiceSettings["anthropic"]>,
  timeoutMs: number,
): Promise<string> {
  const { default: Anthropic } = await import("@anthropic-ai/sdk");
  const client = new Anthropic({ apiKey: s.apiKey, baseURL: s.baseUrl, timeout: timeoutMs, maxRetries: 0 });
  const model = await client.models.retrieve(s.model).catch((error: unknown) => {
    const status = (error as { status?: number }).status;
    throw new Error(
      status === 404
        ? `model ${s.model} not found — check TRIAGE_MODEL`
        : describeStatus(error, "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"),
    );
  });
  return `key accepted; model ${model.id} available`;
}

/** "HTTP 401 (Bad credentials) — check GITHUB_TOKEN", or "unreachable (ECONNREFUSED) — check GITHUB_API_URL". */
function describeStatus(error: unknown, credentials: string, address: string): string {
  const refused = connectionFailure(error);
  if (refused) return `unreachable (${refused}) — check ${address}`;
  const status = (error as { status?: number }).status;
  const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
  if (!status || status >= 500)
    return `${status ? `HTTP ${status}` : "no answer"} (${message}) — check ${address}`;
  return `HTTP ${status} (${message}) — check ${credentials}`;
}
