import { ApiError, AuthError, createCloudClient, ForbiddenError, NotFoundError } from "jira.js";
import { withRetry } from "jira.js/core";
import { adfToMarkdown } from "./adf.ts";

export type JiraClient = ReturnType<typeof createCloudClient>;

export interface JiraClientOptions {
  baseUrl: string;
  user: string;
  apiToken: string;
  /** 'throw' in tests: a fake whose responses drift from Jira's real shapes then fails the test. */
  onSchemaMismatch?: "warn" | "throw" | "silent";
}

export interface WorkItem {
  key: string;
  url: string;
  summary: string;
  status: string;
  acceptanceCriteria: string;
  criteriaSource: "field" | "description" | "none";
  /** The coding agent's own comments: session summaries and plans. */
  agentNotes: string[];
}

const MAX_AGENT_NOTES = 5;
const MAX_NOTE_CHARS = 2_000;
// How the Claude Code hooks (and people pasting plans) start the comments we want.
const AGENT_NOTE = /^(?:\W*)(agent session|claude code|session summary|implementation plan|plan\b|## plan)/i;
const AGENT_AUTHOR = /\b(claude|agent|bot|automation)\b/i;

export function createJiraClient(options: JiraClientOptions): JiraClient {
  return createCloudClient({
    host: options.baseUrl,
    auth: { type: "basic", email: options.user, apiToken: options.apiToken },
    onSchemaMismatch: options.onSchemaMismatch ?? "warn",
  });
}

export interface JiraReader {
  read(key: string): Promise<WorkItem>;
  /** A read failure as one line for the report (jira.js's error classes stay behind this module). */
  describe(key: string, error: unknown): string;
}

/**
 * Reads work items once per key per run. Acceptance criteria come from the custom field named by
 * JIRA_ACCEPTANCE_FIELD (looked up by name through the fields API, once) or else the description.
 * 429s are retried honouring Retry-After through jira.js's own withRetry.
 */
export function createJiraReader(
  client: JiraClient,
  baseUrl: string,
  acceptanceFieldName: string | null,
  retries: number,
): JiraReader {
  const cache = new Map<string, Promise<WorkItem>>();
  let fieldId: Promise<string | null> | null = null;
  const call = <T>(operation: () => Promise<T>) =>
    withRetry(operation, { retryRateLimit: true, maxAttempts: retries + 1, initialDelayMs: 200 });

  const acceptanceFieldId = () => {
    fieldId ??= acceptanceFieldName
      ? call(() => client.issueFields.getFields()).then(
          (fields) =>
            fields.find((f) => f.name?.toLowerCase() === acceptanceFieldName.toLowerCase())?.id ?? null,
        )
      : Promise.resolve(null);
    return fieldId;
  };

  const load = async (key: string): Promise<WorkItem> => {
    const criteriaField = await acceptanceFieldId();
    const issue = await call(() =>
      client.issues.getIssue({
        issueIdOrKey: key,
        fields: ["summary", "description", "status", ...(criteriaField ? [criteriaField] : [])],
      }),
    );
    if (!issue || typeof issue !== "object" || !issue.fields)
      throw new Error(`unreadable Jira response for ${key}`);
    const fields = issue.fields as Record<string, unknown>;
    const fromField = criteriaField ? adfToMarkdown(fields[criteriaField]) : "";
    const fromDescription = adfToMarkdown(fields.description);
    const page = await call(() =>
      client.issueComments.getComments({ issueIdOrKey: key, maxResults: 50, orderBy: "-created" }),
    );
    const agentNotes = (page.comments ?? [])
      .map((c) => ({ text: adfToMarkdown(c.body), author: c.author?.displayName ?? "" }))
      .filter((c) => AGENT_NOTE.test(c.text) || AGENT_AUTHOR.test(c.author))
      .slice(0, MAX_AGENT_NOTES)
      .map((c) => (c.text.length > MAX_NOTE_CHARS ? `${c.text.slice(0, MAX_NOTE_CHARS)}…` : c.text));
    const status = fields.status as { name?: string } | undefined;
    return {
      key: issue.key ?? key,
      url: `${baseUrl.replace(/\/+$/, "")}/browse/${encodeURIComponent(issue.key ?? key)}`,
      summary: String(fields.summary ?? ""),
      status: status?.name ?? "",
      acceptanceCriteria: fromField || fromDescription,
      criteriaSource: fromField ? "field" : fromDescription ? "description" : "none",
      agentNotes,
    };
  };

  return {
    read(key) {
      let pending = cache.get(key);
      if (!pending) {
        pending = load(key);
        cache.set(key, pending);
      }
      return pending;
    },
    describe: describeJiraError,
  };
}

/** A Jira failure as one line for the report; the group goes on without the work item. */
export function describeJiraError(key: string, error: unknown): string {
  if (error instanceof NotFoundError) return `Jira issue ${key} not found (404)`;
  if (error instanceof ForbiddenError || error instanceof AuthError)
    return `no permission to read Jira issue ${key} (${error.status})`;
  if (error instanceof ApiError) return `Jira HTTP ${error.status} reading ${key}: ${error.message}`;
  return `Jira unavailable reading ${key}: ${error instanceof Error ? error.message : String(error)}`;
}
