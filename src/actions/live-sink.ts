import type { GitHubClient } from "../evidence/github.ts";
import type { HostCircuit } from "../evidence/host-circuit.ts";
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
  /** Jira's host circuit: once Jira refuses connections, the rest of the run fails fast. */
  jiraCircuit?: HostCircuit | null;
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
    const gate = checkPatch(input.analysis, input.evidence, this.options.gate, input.group);
    const keep = identifiersOf(input);
    const prNote = gate.ok ? "a draft PR is proposed (linked below when opened)" : `none: ${gate.reason}`;
    let ticket: Awaited<ReturnType<typeof upsertIncident>>;
    try {
      const redacted = await redactor.redactDeep(input, keep);
      const upsert = () => upsertIncident(jira, this.options.incident, redacted, prNote);
      const circuit = this.options.jiraCircuit;
      ticket = await (circuit ? circuit.run(upsert) : upsert());
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
        const key = ticket.key;
        const url = pr.url;
        const link = () =>
          linkPullRequest(jira, key, input.group.fingerprint, url, `Draft fix for ${input.group.slug}`);
        const circuit = this.options.jiraCircuit;
        await (circuit ? circuit.run(link) : link());
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
  const raw = (error as { status?: number }).status;
  // 599 is how a dead host is reported through Octokit; the message already says so.
  const status = raw === 599 ? undefined : raw;
  return `${service}${status ? ` HTTP ${status}` : ""}: ${error instanceof Error ? error.message : String(error)}`;
}
