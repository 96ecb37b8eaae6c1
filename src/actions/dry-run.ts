import { mkdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Redactor } from "../evidence/redact.ts";
import { type ActionInput, type ActionResult, type ActionSink, identifiersOf } from "./action.ts";
import { renderIncidentBody, renderPullRequestBody } from "./bodies.ts";
import { checkPatch, type GateSettings } from "./gate.ts";

/**
 * Writes what would have been sent to GitHub and Jira under `<out>/actions/<fingerprint>/`.
 * Paths are keyed by fingerprint, so a rerun overwrites instead of piling up copies. The PR
 * decision goes through the same gate as a live run (without the repository content check).
 */
export class DryRunSink implements ActionSink {
  private readonly outDir: string;
  private readonly why: string;
  private readonly redactor: Redactor;
  private readonly gate: GateSettings;

  constructor(outDir: string, why: string, redactor: Redactor, gate: GateSettings) {
    this.outDir = outDir;
    this.why = why;
    this.redactor = redactor;
    this.gate = gate;
  }

  async act(input: ActionInput): Promise<ActionResult[]> {
    const dir = join(this.outDir, "actions", input.group.fingerprint);
    await mkdir(dir, { recursive: true });
    const incidentPath = join(dir, "incident.md");
    // Bodies are built from redacted evidence; the last pass is for text the templates combined.
    await writeFile(
      incidentPath,
      await this.redactor.redact(renderIncidentBody(input), identifiersOf(input)),
    );
    const results: ActionResult[] = [
      { kind: "incident", status: "dry_run", path: this.shown(incidentPath), reason: this.why },
    ];
    const gate = checkPatch(input.analysis, input.evidence, this.gate, input.group);
    const fix = input.analysis.fix;
    if (!gate.ok || !fix) {
      results.push({
        kind: "pull_request",
        status: "skipped",
        reason: gate.ok ? "no patch proposed" : gate.reason,
      });
      return results;
    }
    const prPath = join(dir, "pull-request.md");
    await writeFile(
      prPath,
      await this.redactor.redact(renderPullRequestBody(input, fix, null), identifiersOf(input)),
    );
    await writeFile(join(dir, "fix.patch"), gate.files.map((f) => f.patch).join(""));
    results.push({
      kind: "pull_request",
      status: "dry_run",
      path: this.shown(prPath),
      reason: `${this.why}; patch not yet applied to the repository`,
    });
    return results;
  }

  private shown(path: string): string {
    return relative(process.cwd(), path) || path;
  }
}
