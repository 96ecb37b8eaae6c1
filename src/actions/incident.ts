import { withRetry } from "jira.js/core";
import type { JiraClient } from "../evidence/jira.ts";
import type { ActionInput, ActionResult } from "./action.ts";
import { bullets, code, document, heading, link, paragraph, strong, text } from "./adf-builder.ts";

export interface IncidentSettings {
  project: string;
  issueType: string;
  baseUrl: string;
}

export interface IncidentOutcome {
  result: ActionResult;
  key: string | null;
}

/** jira.js retries 502/503/504 and, with retryRateLimit, 429 honouring Retry-After. */
function call<T>(operation: () => Promise<T>): Promise<T> {
  return withRetry(operation, { retryRateLimit: true, maxAttempts: 3, initialDelayMs: 200 });
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
    await call(() =>
      jira.issueComments.addComment({
        issueIdOrKey: existingKey,
        body: recurrenceComment(input, resolved),
      }),
    );
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
  const created = await call(() =>
    jira.issues.createIssue({
      fields: {
        project: { key: settings.project },
        issuetype: { name: settings.issueType },
        summary: `[tracefix] ${group.service}: ${group.title}`.slice(0, 250),
        description: incidentDocument(input, prNote),
        labels: ["tracefix", label],
      },
    }),
  );
  // jira.js in "warn" mode hands back an unreadable body as is: no key means we cannot link it.
  // The ticket may exist; the next night finds it by its label.
  if (!created?.key) throw new Error("Jira did not return the new ticket's key");
  const key: string | null = created.key;
  const duplicateOf = key ? await olderTicket(jira, settings, label, key) : null;
  if (key && duplicateOf) {
    // An overlapping run won the race. Jira has no uniqueness check, so say so on ours and point
    // at the older ticket; later nights only ever find and update the oldest one.
    await call(() =>
      jira.issueComments.addComment({
        issueIdOrKey: key,
        body: document(
          paragraph(
            strong("Duplicate: "),
            `an overlapping tracefix run opened ${duplicateOf} for the same fingerprint first; follow that ticket.`,
          ),
        ),
      }),
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
      await call(() =>
        jira.issueLinks.linkIssues({
          type: { name: "Relates" },
          inwardIssue: { key: ticket },
          outwardIssue: { key: origin },
        }),
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
      reason: `${key ?? "ticket"} created${linkNote}`,
    },
  };
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
    paragraph(
      `Fingerprint ${group.fingerprint} (grouping v${group.grouping.version}). Opened by tracefix; reruns comment here instead of opening another ticket.`,
    ),
  );
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
