import type { GitHubClient } from "../evidence/github.ts";
import type { JiraClient } from "../evidence/jira.ts";
import type { Redactor } from "../evidence/redact.ts";
import { type ActionInput, type ActionResult, type ActionSink, identifiersOf } from "./action.ts";
import { renderPullRequestBody } from "./bodies.ts";
import { checkPatch, type GateSettings } from "./gate.ts";
import { type IncidentSettings, linkPullRequest, upsertIncident } from "./incident.ts";
import { openDraftPullRequest } from "./pull-request.ts";

export interface LiveSinkOptions {
  github: GitHubClient;
  jira: JiraClient;
  incident: IncidentSettings;
  gate: GateSettings;
  labels: string[];
  redactor: Redactor;
  confirmLooksMs: readonly number[];
}

/**
 * Writes for real: the incident ticket first (so the PR body can link it), then the draft PR when
 * the gate allows one, then the ticket's remote link to the PR. If the ticket fails, the PR waits
 * for the next run: a PR never goes out without its ticket.
 */
export class LiveSink implements ActionSink {
  private readonly options: LiveSinkOptions;

  constructor(options: LiveSinkOptions) {
    this.options = options;
  }

  async act(input: ActionInput): Promise<ActionResult[]> {
    const { github, jira, redactor } = this.options;
    const gate = checkPatch(input.analysis, input.evidence, this.options.gate);
    const keep = identifiersOf(input);
    const prNote = gate.ok ? "a draft PR is proposed (linked below when opened)" : `none: ${gate.reason}`;
    let ticket: Awaited<ReturnType<typeof upsertIncident>>;
    try {
      ticket = await upsertIncident(
        jira,
        this.options.incident,
        await redactor.redactDeep(input, keep),
        prNote,
      );
    } catch (error) {
      return [
        { kind: "incident", status: "failed", reason: describe("Jira", error) },
        {
          kind: "pull_request",
          status: "skipped",
          reason: "the incident ticket failed; the PR waits for the next run",
        },
      ];
    }
    const fix = input.analysis.fix;
    const slug = input.evidence.repository;
    if (!gate.ok || !fix || !slug) {
      return [
        ticket.result,
        {
          kind: "pull_request",
          status: "skipped",
          reason: gate.ok ? "no repository for the PR" : gate.reason,
        },
      ];
    }
    const [owner = "", repo = ""] = slug.split("/");
    const ticketUrl = ticket.result.url ?? null;
    let pr: ActionResult;
    try {
      pr = await openDraftPullRequest(github, {
        repo: { owner, repo },
        fingerprint: input.group.fingerprint,
        title: await redactor.redact(
          `fix(${input.group.service}): ${shortCause(input.analysis.summary)}`,
          keep,
        ),
        body: await redactor.redact(renderPullRequestBody(input, fix, ticketUrl), keep),
        labels: this.options.labels,
        files: gate.files,
        confirmLooksMs: this.options.confirmLooksMs,
      });
    } catch (error) {
      return [ticket.result, { kind: "pull_request", status: "failed", reason: describe("GitHub", error) }];
    }
    // Every run, not only the one that opened the PR: a link that failed once is mended next night.
    if (pr.url && ticket.key) {
      try {
        await linkPullRequest(
          jira,
          ticket.key,
          input.group.fingerprint,
          pr.url,
          `Draft fix for ${input.group.slug}`,
        );
      } catch (error) {
        pr = {
          ...pr,
          reason: `${pr.reason ?? ""}; ticket link failed (${describe("Jira", error)}), the next run retries it`,
        };
      }
    }
    return [ticket.result, pr];
  }
}

function shortCause(summary: string): string {
  const first = summary.split(/(?<=[.!?])\s/)[0] ?? summary;
  return first.length > 72 ? `${first.slice(0, 71)}…` : first.replace(/[.!?]$/, "");
}

function describe(service: string, error: unknown): string {
  const status = (error as { status?: number }).status;
  return `${service}${status ? ` HTTP ${status}` : ""}: ${error instanceof Error ? error.message : String(error)}`;
}
