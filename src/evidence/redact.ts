import { lintSource } from "@secretlint/core";
import { creator as recommendedRules } from "@secretlint/secretlint-rule-preset-recommend";

/**
 * The one redactor everything passes through before it leaves the process (Claude, GitHub, Jira,
 * the report). Secretlint's recommended rules find provider tokens and credentials; the patterns
 * below cover what it leaves alone in free text. Matches become typed placeholders such as
 * `[REDACTED:aws-key]`, and every replacement is counted.
 */
// Provider-specific shapes first, generic ones after, so a token is named for what it is.
const PATTERNS: ReadonlyArray<readonly [kind: string, pattern: RegExp]> = [
  [
    "private-key",
    /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
  ],
  ["jwt", /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g],
  ["aws-key", /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g],
  ["anthropic-key", /\bsk-ant-[A-Za-z0-9_-]{20,}/g],
  ["api-key", /\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}/g],
  ["github-token", /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/g],
  ["bearer-token", /\b(Bearer|Token)[ \t]+[A-Za-z0-9\-._~+/]{16,}=*/gi],
  ["connection-string", /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"']+:[^\s@"']+@[^\s"']+/gi],
  // key=value / key: value where the key names a secret; the value goes, the key stays readable.
  [
    "secret",
    /(\b[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth|credential|private[_-]?key|session[_-]?id)[\w.-]*["']?[ \t]*[:=][ \t]*["']?)(?!\[REDACTED)([^\s"',;&]{6,})/gi,
  ],
  ["email", /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b/g],
  ["card-number", /\b(?:\d[ -]?){12,18}\d\b/g],
];

export interface RedactionCounts {
  total: number;
  byKind: Record<string, number>;
}

export class Redactor {
  private readonly counts: Record<string, number> = {};

  get stats(): RedactionCounts {
    const byKind = { ...this.counts };
    return { total: Object.values(byKind).reduce((a, b) => a + b, 0), byKind };
  }

  async redact(text: string): Promise<string> {
    if (text === "") return text;
    let out = text;
    for (const [kind, pattern] of PATTERNS) {
      out = out.replace(pattern, (match, ...groups: unknown[]) => {
        if (kind === "card-number" && !luhnValid(match)) return match;
        this.count(kind);
        // The "secret" pattern keeps its key (group 1) so the text still says what was removed.
        return kind === "secret" ? `${String(groups[0])}[REDACTED:${kind}]` : `[REDACTED:${kind}]`;
      });
    }
    return this.redactWithSecretlint(out);
  }

  /**
   * Redacts text whose line structure must survive (a diff's hunks count lines): key blocks are
   * blanked line by line, and no other pattern crosses a newline.
   */
  async redactPreservingLines(text: string): Promise<string> {
    const lines = text.split("\n");
    let inBlock = false;
    const masked = lines.map((line) => {
      const begins = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY/.test(line);
      if (begins && !inBlock) this.count("private-key");
      if (begins) inBlock = true;
      if (!inBlock) return line;
      if (/-----END [A-Z0-9 ]*PRIVATE KEY/.test(line)) inBlock = false;
      const prefix = /^[-+ ]/.test(line) && !line.startsWith("-----") ? line.charAt(0) : "";
      return `${prefix}[REDACTED:private-key]`;
    });
    const out = await this.redact(masked.join("\n"));
    return out.split("\n").length === lines.length
      ? out
      : (await Promise.all(masked.map((l) => this.redact(l)))).join("\n");
  }

  /** Redacts every string inside a JSON-like value, keys included. */
  async redactDeep<T>(value: T): Promise<T> {
    if (typeof value === "string") return (await this.redact(value)) as T;
    if (Array.isArray(value)) return (await Promise.all(value.map((v) => this.redactDeep(v)))) as T;
    if (value && typeof value === "object" && !(value instanceof Uint8Array)) {
      const entries = await Promise.all(
        Object.entries(value).map(
          async ([k, v]) => [await this.redact(k), await this.redactDeep(v)] as const,
        ),
      );
      return Object.fromEntries(entries) as T;
    }
    return value;
  }

  private async redactWithSecretlint(text: string): Promise<string> {
    const result = await lintSource({
      source: { content: text, filePath: "telemetry.txt", ext: ".txt", contentType: "text" },
      options: {
        config: { rules: [{ id: "@secretlint/secretlint-rule-preset-recommend", rule: recommendedRules }] },
        noPhysicFilePath: true,
      },
    });
    const ranges = result.messages
      .map((m) => ({ start: m.range[0], end: m.range[1], kind: kindOf(m.ruleId) }))
      .sort((a, b) => b.start - a.start);
    let out = text;
    let lastStart = Number.POSITIVE_INFINITY;
    for (const { start, end, kind } of ranges) {
      if (end > lastStart) continue; // overlapping findings: the later (outer) one already replaced it
      out = `${out.slice(0, start)}[REDACTED:${kind}]${out.slice(end)}`;
      lastStart = start;
      this.count(kind);
    }
    return out;
  }

  private count(kind: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }
}

function kindOf(ruleId: string): string {
  return ruleId.replace(/^@secretlint\/secretlint-rule-/, "");
}

/** Card-like digit runs are only redacted when they pass the Luhn check, so ids and timestamps survive. */
function luhnValid(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, "");
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Everything telemetry put into a group, redacted before evidence or analysis sees it. */
export async function redactGroup<G extends RedactableGroup>(group: G, redactor: Redactor): Promise<G> {
  return {
    ...group,
    title: await redactor.redact(group.title),
    slug: await redactor.redact(group.slug),
    grouping: { ...group.grouping, message: await redactor.redact(group.grouping.message) },
    samples: await Promise.all(
      group.samples.map(async (sample) => ({
        ...sample,
        name: await redactor.redact(sample.name),
        message: await redactor.redact(sample.message),
        stacktrace: await redactor.redactPreservingLines(sample.stacktrace),
        attributes: await redactor.redactDeep(sample.attributes),
      })),
    ),
  };
}

interface RedactableGroup {
  title: string;
  slug: string;
  grouping: { message: string };
  samples: Array<{ name: string; message: string; stacktrace: string; attributes: Record<string, unknown> }>;
}
