import type { Analysis } from "../analysis/analysis.ts";
import type { DiffFile } from "../evidence/diff.ts";
import type { Evidence } from "../evidence/gather.ts";
import type { Suspect } from "../evidence/suspects.ts";
import type { ErrorGroup } from "../grouping/collector.ts";
import { behaviourWriteup } from "./agent-behaviour/writeup.ts";
import { regressionFacts, tenantChart, tenantTable } from "./cost-regression/figures.ts";
import { queryHunkSuspects, withQuerySuspects } from "./cost-regression/query-hunks.ts";
import { costRegressionWriteup } from "./cost-regression/writeup.ts";

/**
 * What a detector's group kind adds to the shared stages: its prompt file, its offline writeup,
 * its own suspects, the facts the prompt and the ticket show. Stages ask `hooksFor(group)`; a
 * kind without hooks (exceptions, agent stop failures) takes the stages' own path.
 */
export interface KindHooks {
  /** prompts/<prompt>.md */
  prompt: "cost-regression" | "agent-behaviour";
  /** Set when this kind never gets a PR, with the reason the report gives. */
  refusesPullRequests?: string;
  offline(group: ErrorGroup, evidence: Evidence): Analysis;
  suspects(group: ErrorGroup, scored: Suspect[], commitSha: string, files: readonly DiffFile[]): Suspect[];
  /** The group's figures for the model, fenced as evidence. */
  facts(group: ErrorGroup): { kind: string; text: string };
  /** Markdown lines for the incident ticket. */
  ticket(group: ErrorGroup): string[];
}

export function hooksFor(group: ErrorGroup): KindHooks | null {
  if (group.kind === "cost_regression" && group.regression) return costRegressionHooks;
  if (group.kind === "agent_behaviour" && group.behaviour) return agentBehaviourHooks;
  return null;
}

const agentBehaviourHooks: KindHooks = {
  prompt: "agent-behaviour",
  refusesPullRequests:
    "agent configuration is a person's decision: a guardrail is proposed in the ticket, never as a PR",
  offline: (group) => behaviourWriteup(group, behaviourOf(group)),
  suspects: (_group, scored) => scored,
  facts: (group) => {
    const b = behaviourOf(group);
    return {
      kind: "agent-behaviour",
      text: [
        `signal: ${b.signal}`,
        `tool: ${b.tool ?? "-"}; repository: ${b.repo ?? "-"}`,
        b.detail,
        `baseline: ${b.baseline ?? "none"}`,
        `sessions: ${b.sessions.join(", ") || "-"}`,
      ].join("\n"),
    };
  },
  ticket: (group) => {
    const b = behaviourOf(group);
    return [
      "",
      "## The agent's behaviour",
      `- ${b.detail}`,
      ...(b.sessions.length ? [`- sessions: ${b.sessions.join(", ")}`] : []),
      "",
      "## Proposed guardrail",
      "",
      b.guardrail,
      "",
      "_A proposal for a person to adopt: tracefix never changes agent configuration and opens no PR for it._",
    ];
  },
};

function behaviourOf(group: ErrorGroup) {
  if (!group.behaviour) throw new Error(`group ${group.fingerprint} has no behaviour figures`);
  return group.behaviour;
}

const costRegressionHooks: KindHooks = {
  prompt: "cost-regression",
  offline: (group, evidence) => costRegressionWriteup(group, must(group), evidence),
  suspects: (_group, scored, sha, files) => withQuerySuspects(scored, queryHunkSuspects(sha, files)),
  facts: (group) => ({
    kind: "cost-regression",
    text: regressionFacts(must(group), group.commitSha).join("\n"),
  }),
  ticket: (group) => {
    const r = must(group);
    return [
      "",
      "## Before and after, per tenant",
      ...regressionFacts(r, group.commitSha).map((line) => `- ${line}`),
      "",
      ...tenantTable(r),
      "",
      ...tenantChart(r),
    ];
  },
};

function must(group: ErrorGroup) {
  if (!group.regression) throw new Error(`group ${group.fingerprint} has no regression figures`);
  return group.regression;
}
