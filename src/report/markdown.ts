import { regressionFacts, tenantChart, tenantTable } from "../detectors/cost-regression/figures.ts";
import type { Report, ReportGroup } from "./schema.ts";

/** report.md: the ranked list an on-call engineer reads first in the morning. */
export function renderReportMarkdown(report: Report): string {
  const t = report.totals;
  const lines = [
    "# tracefix triage report",
    "",
    `Window **${report.window.since}** → **${report.window.until}** · sources: ${report.sources.join(", ") || "none"}` +
      (report.dryRun ? " · **dry run**" : ""),
    "",
    `${t.spansMatched} matching spans (of ${t.spansRead} read) in ${t.groupsFound} groups; ` +
      `top ${t.groups} analysed by the ${report.analyst.name} analyst${report.analyst.model ? ` (${report.analyst.model})` : ""}, ${t.groupsFailed} failed.` +
      (t.skippedLines > 0 ? ` ${t.skippedLines} malformed input line(s) skipped.` : ""),
    `Spend: ${report.usage.inputTokens} input / ${report.usage.outputTokens} output tokens, $${report.usage.costUsd.toFixed(2)}.` +
      (report.redactions.total > 0
        ? ` Redacted ${report.redactions.total} secret(s)/PII value(s) before anything left the machine.`
        : "") +
      paceLine(report) +
      batchLine(report),
    "",
  ];
  if (report.warnings.length > 0) {
    // First, before any "all clear": what this run could not see.
    lines.push(
      "## ⚠ What this run could not see",
      "",
      ...report.warnings.map((w) => `- ${cell(w.message)}`),
      "",
    );
  }
  lines.push(...costCheckLines(report));
  if (report.groups.length === 0) {
    lines.push(
      report.warnings.length > 0
        ? "No failing spans were found in what could be read — which is not an all-clear: see above."
        : "No failing spans in this window.",
      "",
    );
    return lines.join("\n");
  }
  lines.push(
    "| # | service | group | commit | count | new commit | suspect | verdict | PR | ticket |",
    "|---|---|---|---|---:|:-:|---|---|---|---|",
    ...report.groups.map(tableRow),
    "",
  );
  if (report.alsoSeen.length > 0) {
    lines.push(
      `**Also seen** (past \`--limit\`, not analysed): ${report.alsoSeen.length} group(s).`,
      "",
      "| # | service | group | commit | count |",
      "|---|---|---|---|---:|",
      ...report.alsoSeen.map(
        (g) =>
          `| ${g.rank} | ${cell(g.service)} | \`${cell(g.slug)}\` | ${g.commitSha ? `\`${g.commitSha.slice(0, 7)}\`` : "—"} | ${g.count} |`,
      ),
      "",
    );
  }
  const regressions = report.groups.filter((g) => g.regression);
  if (regressions.length > 0) {
    lines.push("## Cost regressions", "");
    for (const g of regressions) {
      const r = g.regression;
      if (!r) continue;
      lines.push(
        `### #${g.rank} ${cell(g.service)} · ${cell(r.operation)} · \`${g.commitSha?.slice(0, 7) ?? "?"}\``,
        "",
        ...regressionFacts(r, g.commitSha).map((f) => `- ${cell(f)}`),
        "",
        ...tenantTable(r),
        "",
        ...tenantChart(r),
        "",
      );
    }
  }
  lines.push(...agentUsageLines(report));
  for (const group of report.groups) lines.push(...groupSection(group));
  return lines.join("\n");
}

/** The coding agents' figures a team reviews each week, for the window. */
function agentUsageLines(report: Report): string[] {
  const u = report.agentUsage;
  if (!u || (u.sessions === 0 && u.failed.length === 0)) return [];
  const pct = (x: number | null) => (x === null ? "—" : `${(x * 100).toFixed(1)} %`);
  const t = u.tokens;
  return [
    "## Coding agents in the window",
    "",
    `${u.sessions} session(s), ${u.toolCalls} tool call(s), tool error rate ${pct(u.toolErrorRate)}, read/write ratio ${u.readWriteRatio ?? "—"}; ` +
      `tokens ${t.input} input, ${t.output} output, ${t.cacheRead} read from cache, ${t.cacheCreation} written to cache (cache-hit ratio ${pct(u.cacheHitRatio)}).` +
      (u.failed.length > 0 ? " **Partial:** some sources could not be read (see above)." : "") +
      (u.truncated ? " **Partial:** a source returned its maximum number of groups." : ""),
    "",
    ...(u.toolCallsByTool.length > 0
      ? [
          "| tool | calls | failures |",
          "|---|---:|---:|",
          ...u.toolCallsByTool.slice(0, 10).map((x) => `| ${cell(x.tool)} | ${x.calls} | ${x.failures} |`),
          "",
        ]
      : []),
    ...(u.topDenials.length > 0
      ? [
          `Top permission denials: ${u.topDenials.map((d) => `${cell(d.tool)} in ${cell(d.repo || "?")} (${d.count})`).join(", ")}.`,
          "",
        ]
      : []),
  ];
}

/** One line on the cost check, so "no cost regression" is a claim with its scope. */
function costCheckLines(report: Report): string[] {
  const c = report.costCheck;
  if (!c) return [];
  if (!c.enabled) return ["Cost check: off (`regressions.enabled` is false).", ""];
  const skipped = Object.entries(c.skipped).map(([reason, n]) => `${n} ${reason}`);
  const blind =
    c.failed.length > 0
      ? ` **Blind for ${c.failed.map((f) => `${f.metric} on ${f.source}`).join(", ")}** (see above).`
      : "";
  return [
    `Cost check: ${c.comparisons} commit comparison(s) of ${c.metrics.map((m) => `\`${m.name}\`${m.per ? ` per \`${m.per}\`` : ""}`).join(", ")}; ` +
      `${c.flagged} flagged (≥ ×${c.test.minRatio} and p < ${c.test.alpha}).${blind}` +
      (skipped.length > 0 ? ` Left out: ${skipped.join("; ")}.` : ""),
    "",
  ];
}

/** What the row claims: a cause with its confidence, "no code cause" as such, or no analysis. */
function verdict(g: ReportGroup): string {
  if (!g.analysis) return g.error ? "failed" : "—";
  const predates = g.alsoOnEarlierCommit ? "; predates this deploy" : "";
  if (!g.analysis.suspect) {
    const undetermined = g.analysis.rootCause.startsWith("Undetermined");
    return `${undetermined ? "undetermined" : "no code cause"} (${g.analysis.confidence.toFixed(2)})${predates}`;
  }
  return `${g.analysis.category.replace("_", " ")} (${g.analysis.confidence.toFixed(2)})`;
}

function tableRow(g: ReportGroup): string {
  const suspect = g.analysis?.suspect
    ? `\`${g.analysis.suspect.path}${lineSuffix(g.analysis.suspect.line)}\``
    : "—";
  const cells = [
    String(g.rank),
    cell(g.service),
    `\`${cell(g.slug)}\``,
    g.commitSha ? `\`${g.commitSha.slice(0, 7)}\`` : "—",
    String(g.count),
    g.newCommit ? "yes" : "",
    suspect,
    verdict(g),
    actionCell(g, "pull_request"),
    actionCell(g, "incident"),
  ];
  return `| ${cells.join(" | ")} |`;
}

function groupSection(g: ReportGroup): string[] {
  const lines = [
    `## ${g.rank}. ${cell(g.title)}`,
    "",
    `\`${g.fingerprint}\` · ${g.kind} · ${g.service} · commit ${g.commitSha ? `\`${g.commitSha.slice(0, 12)}\`` : "unknown"}` +
      ` · ${g.count}× from ${g.firstSeen} to ${g.lastSeen}`,
    "",
  ];
  if (g.error) lines.push(`**Failed:** ${g.error}`, "");
  if (g.alsoOnEarlierCommit) {
    lines.push(
      `**Predates this deploy:** the same error fired ${g.alsoOnEarlierCommit.count}× on the earlier commit \`${g.alsoOnEarlierCommit.commitSha.slice(0, 12)}\`.`,
      "",
    );
  }
  if (g.skipped) lines.push(`**Not analysed:** ${g.skipped}`, "");
  if (g.analysis) {
    lines.push(
      g.analysis.summary,
      "",
      `**Root cause** (${g.analysis.analyst}, confidence ${g.analysis.confidence}): ${g.analysis.rootCause}`,
      "",
    );
  }
  if (g.introducedBy) {
    lines.push(
      `**Introduced by an earlier commit of the deploy:** running \`${g.introducedBy.runningSha.slice(0, 7)}\`; introduced by \`${g.introducedBy.sha.slice(0, 7)}\` (range ${cell(g.introducedBy.range)}). The diff, PR and work item below are that commit's.`,
      "",
    );
  }
  const top = g.suspects[0];
  if (top) lines.push(`**Diff suspect:** \`${top.path}${lineSuffix(top.line)}\` — ${top.reason}`, "");
  else if (g.diffUnavailable) lines.push(`**Diff:** unavailable — ${g.diffUnavailable}`, "");
  if (g.pullRequest) {
    lines.push(
      `**Introduced by:** [#${g.pullRequest.number} ${cell(g.pullRequest.title)}](${g.pullRequest.url}) (\`${cell(g.pullRequest.branch)}\`)`,
      "",
    );
  }
  for (const s of g.agentSessions) {
    lines.push(
      `**Written by coding-agent session** \`${s.sessionId}\` (${s.link.replace("_", " ")}: ${cell(s.checked)}) — ${s.toolCalls} tool calls, ${s.toolFailures} failed, ${s.permissionDenials} denials, ${s.inputTokens}/${s.outputTokens} tokens in/out.` +
        (s.plan ? ` Plan: ${cell(s.plan.slice(0, 300))}` : ""),
      "",
    );
  }
  if (g.workItem) {
    const criteria =
      g.workItem.criteriaSource === "none"
        ? "no acceptance criteria"
        : `criteria from the ${g.workItem.criteriaSource}`;
    lines.push(
      `**Work item:** [${g.workItem.key}](${g.workItem.url}) ${cell(g.workItem.summary)} (${criteria}; ${g.workItem.agentNotes.length} agent note(s))`,
      "",
    );
  }
  for (const note of [...g.diffNotes, ...g.evidenceProblems]) lines.push(`> ${cell(note)}`, "");
  const traces = g.links.traces.length > 0 ? g.links.traces : g.sampleTraceIds;
  if (traces.length > 0)
    lines.push(
      `**Sample traces:** ${traces.map((t) => (t.includes("://") ? `<${t}>` : `\`${t}\``)).join(", ")}`,
      "",
    );
  for (const action of g.actions) {
    if (action.status === "skipped" || action.status === "failed") {
      lines.push(
        `**No ${action.kind === "pull_request" ? "PR" : "ticket"}:** ${action.reason ?? action.status}`,
        "",
      );
    }
  }
  return lines;
}

function actionCell(g: ReportGroup, kind: "pull_request" | "incident"): string {
  const action = g.actions.find((a) => a.kind === kind);
  if (!action) return "—";
  if (action.url) return `[${action.status}](${action.url})`;
  return action.status.replace("_", " ");
}

function lineSuffix(line: number | undefined): string {
  return line !== undefined ? `:${line}` : "";
}

/** Telemetry text lands in a table: pipes and newlines would break the row. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/[\r\n]+/g, " ");
}

/** How the model calls went against the provider's limits, when Claude ran. */
function paceLine(report: Report): string {
  const pace = report.analyst.pace;
  if (!pace || pace.calls === 0) return "";
  const throttled = pace.throttled > 0 ? `, ${pace.throttled} throttled answer(s)` : "";
  return ` Model calls: at most ${pace.peakInFlight} in flight (ceiling ${pace.ceiling})${throttled}, ${(pace.waitedMs / 1000).toFixed(1)} s waited for rate limits.`;
}

/** A --batch night: which groups the batch answered, and what it saved. */
function batchLine(report: Report): string {
  const batch = report.analyst.batch;
  if (!batch) return "";
  const why = batch.reason ? ` (${batch.reason})` : "";
  return ` Batch ${batch.status}: ${batch.byBatch} group(s) by batch, ${batch.bySync} by Messages, $${batch.savedUsd.toFixed(2)} saved${why}.`;
}
