import { isApiError, isNetworkError, isRateLimitError, withRetry } from "jira.js/core";
import { adfToMarkdown } from "../evidence/adf.ts";
import type { JiraClient } from "../evidence/jira.ts";
import type { ActionInput, ActionResult } from "./action.ts";
import { bullets, code, codeBlock, document, heading, link, paragraph, strong, text } from "./adf-builder.ts";
import { reproductionOf } from "./bodies.ts";
import { type FailureKind, writeOnce } from "./write-once.ts";

export interface IncidentSettings {
  project: string;
  issueType: string;
  baseUrl: string;
  /** Written into every comment, so a comment whose reply was lost can be found instead of repeated. */
  runId: string;
  /** Waits before each look for a write whose reply was lost (Jira's search lags fresh writes). */
  confirmLooksMs: readonly number[];
}

export interface IncidentOutcome {
  result: ActionResult;
  key: string | null;
}

/**
 * Reads (and writes that are safe to repeat) go through jira.js's withRetry: 502/503/504 and, with
 * retryRateLimit, 429 honouring Retry-After. Writes that are not safe to repeat go through once().
 */
function call<T>(operation: () => Promise<T>): Promise<T> {
  return withRetry(operation, { retryRateLimit: true, maxAttempts: 3, initialDelayMs: 200 });
}

/** How a failed Jira write is to be read: refused, surely not applied, or maybe applied. */
export function classifyJiraFailure(error: unknown): FailureKind {
  if (isRateLimitError(error)) return { kind: "not_applied", waitMs: error.retryAfterMs ?? 1_000 };
  if (isNetworkError(error)) {
    // A connection that was never made carried no request; a reset or a timeout may have.
    return ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"].includes(error.code ?? "")
      ? { kind: "not_applied", waitMs: 500 }
      : { kind: "ambiguous" };
  }
  if (isApiError(error)) return error.status >= 500 ? { kind: "ambiguous" } : { kind: "final" };
  // An unreadable or unexpected reply to a write: it may well have been applied.
  return { kind: "ambiguous" };
}

function once<T>(settings: IncidentSettings, write: () => Promise<T>, find: () => Promise<T | null>) {
  return writeOnce({ write, find, classify: classifyJiraFailure, lookDelaysMs: settings.confirmLooksMs });
}

/** A comment carrying this run's marker, written once however its reply fares. */
async function commentOnce(
  jira: JiraClient,
  settings: IncidentSettings,
  key: string,
  body: ReturnType<typeof document>,
): Promise<void> {
  const marker = runMarker(settings.runId);
  const marked = { ...body, content: [...body.content, paragraph(marker)] };
  await once(
    settings,
    () => jira.issueComments.addComment({ issueIdOrKey: key, body: marked }).then(() => true),
    async () => {
      const page = await jira.issueComments.getComments({
        issueIdOrKey: key,
        maxResults: 50,
        orderBy: "-created",
      });
      return (page.comments ?? []).some((c) => adfToMarkdown(c.body).includes(marker)) ? true : null;
    },
  );
}

export function runMarker(runId: string): string {
  return `tracefix run ${runId}`;
}

/**
 * Tickets carrying the fingerprint label, oldest first. An unreadable answer is an error, never
 * "no ticket": reading it as none would open a duplicate.
 */
async function ticketsWithLabel(
  jira: JiraClient,
  settings: IncidentSettings,
  label: string,
  fields: string[],
) {
  const found = await call(() =>
    jira.issueSearch.searchAndReconsileIssuesUsingJqlPost({
      jql: `project = "${settings.project}" AND labels = "${label}" ORDER BY created ASC`,
      fields,
      maxResults: 10,
    }),
  );
  if (!found || !Array.isArray(found.issues))
    throw new Error("Jira search returned no issue list; not creating a ticket blind");
  return found.issues.filter((issue) =>
    ((issue.fields?.labels as string[] | undefined) ?? []).includes(label),
  );
}

export function fingerprintLabel(fingerprint: string): string {
  return `tracefix-${fingerprint}`;
}

/**
 * One ticket per fingerprint, ever. It is found by its fingerprint label through /search/jql and
 * confirmed by the exact label. A later night comments on it (a regression comment when it was
 * resolved) instead of opening another.
 */
export async function upsertIncident(
  jira: JiraClient,
  settings: IncidentSettings,
  input: ActionInput,
  prNote: string,
): Promise<IncidentOutcome> {
  const { group } = input;
  const label = fingerprintLabel(group.fingerprint);
  const [existing] = await ticketsWithLabel(jira, settings, label, ["summary", "status", "labels"]);
  const existingKey = existing?.key;
  if (existingKey) {
    const status = existing.fields?.status as
      | { name?: string; statusCategory?: { key?: string } }
      | undefined;
    const resolved = status?.statusCategory?.key === "done";
    await commentOnce(jira, settings, existingKey, recurrenceComment(input, resolved));
    return {
      key: existingKey,
      result: {
        kind: "incident",
        status: "updated",
        url: browseUrl(settings, existingKey),
        reason: resolved
          ? `recurrence: ${existingKey} was ${status?.name ?? "resolved"}; regression comment added`
          : `comment added to ${existingKey}`,
      },
    };
  }
  const created = await once(
    settings,
    async () => {
      const reply = await jira.issues.createIssue({
        fields: {
          project: { key: settings.project },
          issuetype: { name: settings.issueType },
          summary: `[tracefix] ${group.service}: ${group.title}`.slice(0, 250),
          description: incidentDocument(input, prNote),
          labels: ["tracefix", label],
        },
      });
      // jira.js in "warn" mode hands back an unreadable body as is: the ticket may well exist.
      if (!reply?.key) throw new Error("Jira did not return the new ticket's key");
      return reply.key;
    },
    async () => (await ticketsWithLabel(jira, settings, label, ["labels"]))[0]?.key ?? null,
  );
  const key: string | null = created.value;
  const duplicateOf = key ? await olderTicket(jira, settings, label, key) : null;
  if (key && duplicateOf) {
    // An overlapping run won the race. Jira has no uniqueness check, so say so on ours and point
    // at the older ticket; later nights only ever find and update the oldest one.
    await commentOnce(
      jira,
      settings,
      key,
      document(
        paragraph(
          strong("Duplicate: "),
          `an overlapping tracefix run opened ${duplicateOf} for the same fingerprint first; follow that ticket.`,
        ),
      ),
    );
    return {
      key: duplicateOf,
      result: {
        kind: "incident",
        status: "updated",
        url: browseUrl(settings, duplicateOf),
        reason: `overlapping run: ${key} duplicates ${duplicateOf} and says so`,
      },
    };
  }
  let linkNote = "";
  const origin = group.issueKey;
  if (key && origin) {
    const ticket = key;
    try {
      await once(
        settings,
        () =>
          jira.issueLinks
            .linkIssues({
              type: { name: "Relates" },
              inwardIssue: { key: ticket },
              outwardIssue: { key: origin },
            })
            .then(() => true),
        async () => ((await linkedKeys(jira, ticket)).includes(origin) ? true : null),
      );
    } catch (error) {
      linkNote = `; could not link ${origin} (${error instanceof Error ? error.message : String(error)})`;
    }
  }
  return {
    key,
    result: {
      kind: "incident",
      status: "created",
      ...(key ? { url: browseUrl(settings, key) } : {}),
      reason: `${key ?? "ticket"} created${created.recovered ? " (the reply was lost; found by its label)" : ""}${linkNote}`,
    },
  };
}

/** Keys of the issues a ticket links to (any direction), from its issuelinks field. */
async function linkedKeys(jira: JiraClient, key: string): Promise<string[]> {
  const issue = await jira.issues.getIssue({ issueIdOrKey: key, fields: ["issuelinks"] });
  const links = (issue.fields?.issuelinks ?? []) as Array<{
    outwardIssue?: { key?: string };
    inwardIssue?: { key?: string };
  }>;
  return links
    .flatMap((l) => [l.outwardIssue?.key, l.inwardIssue?.key])
    .filter((k): k is string => Boolean(k));
}

async function olderTicket(
  jira: JiraClient,
  settings: IncidentSettings,
  label: string,
  key: string,
): Promise<string | null> {
  const [first] = await ticketsWithLabel(jira, settings, label, ["labels"]);
  return first?.key && first.key !== key ? first.key : null;
}

/** The ticket's remote link to the PR; keyed by a global id, so reruns update instead of adding. */
export async function linkPullRequest(
  jira: JiraClient,
  key: string,
  fingerprint: string,
  url: string,
  title: string,
): Promise<void> {
  await call(() =>
    jira.issueRemoteLinks.createOrUpdateRemoteIssueLink({
      issueIdOrKey: key,
      globalId: `tracefix-pr-${fingerprint}`,
      object: { url, title },
    }),
  );
}

function incidentDocument({ group, analysis, evidence, traceLinks }: ActionInput, prNote: string) {
  return document(
    paragraph(strong("Summary: "), analysis.summary),
    heading(2, "Root cause"),
    paragraph(analysis.rootCause),
    paragraph(
      `Confidence ${analysis.confidence} · category ${analysis.category} · analyst ${analysis.analyst}`,
    ),
    heading(2, "Occurrences"),
    bullets([
      [strong("Count: "), code(String(group.count))],
      [strong("First seen: "), code(new Date(group.firstSeenMs).toISOString())],
      [strong("Last seen: "), code(new Date(group.lastSeenMs).toISOString())],
      [strong("Service: "), code(group.service)],
      [strong("Commit: "), code(group.commitSha ?? "unknown")],
      ...(evidence.pullRequest
        ? [
            [
              strong("Introduced by: "),
              link(`#${evidence.pullRequest.number} ${evidence.pullRequest.title}`, evidence.pullRequest.url),
            ],
          ]
        : []),
      [strong("Fix PR: "), text(prNote)],
    ]),
    analysis.violatedCriteria.length > 0 ? heading(2, "Violated acceptance criteria") : null,
    analysis.violatedCriteria.length > 0 ? bullets(analysis.violatedCriteria) : null,
    traceLinks.length > 0 ? heading(2, "Sample traces") : null,
    traceLinks.length > 0 ? bullets(traceLinks.map((url) => [link(url, url)])) : null,
    ...reproductionBlocks(group),
    paragraph(
      `Fingerprint ${group.fingerprint} (grouping v${group.grouping.version}). Opened by tracefix; reruns comment here instead of opening another ticket.`,
    ),
  );
}

/** The sample's input and first in-app frames, so the ticket holds what it needs to reproduce. */
function reproductionBlocks(group: ActionInput["group"]) {
  const { attributes, stack } = reproductionOf(group);
  if (attributes.length === 0 && stack.length === 0) return [];
  return [
    heading(2, "Reproduce"),
    attributes.length > 0 ? paragraph("Input from the newest sample span:") : null,
    attributes.length > 0 ? bullets(attributes.map((a) => [code(a)])) : null,
    stack.length > 0 ? paragraph("First in-app frames:") : null,
    stack.length > 0 ? codeBlock(stack.join("\n")) : null,
  ];
}

function recurrenceComment({ group }: ActionInput, resolved: boolean) {
  return document(
    paragraph(
      strong(resolved ? "Regression: " : "Still happening: "),
      `${group.count} more occurrence(s) between ${new Date(group.firstSeenMs).toISOString()} and ${new Date(group.lastSeenMs).toISOString()}`,
      ` on commit ${group.commitSha?.slice(0, 12) ?? "unknown"} (tracefix nightly run).`,
    ),
  );
}

function browseUrl(settings: IncidentSettings, key: string): string {
  return `${settings.baseUrl.replace(/\/+$/, "")}/browse/${encodeURIComponent(key)}`;
}
