import { lintSource } from "@secretlint/core";
import { secretLintProfiler } from "@secretlint/profiler";
import { creator as recommendedRules } from "@secretlint/secretlint-rule-preset-recommend";
import { isSecretValue, luhnValid, PATTERNS, PLACEHOLDER_PASSWORD } from "./secret-patterns.ts";

// secretlint profiles every call by default: about 60 performance marks per call that are never
// cleared, which is what made memory grow by megabytes per group (and Node warn past 1M marks).
secretLintProfiler.setEnabled(false);

const SECRETLINT_OPTIONS = {
  config: { rules: [{ id: "@secretlint/secretlint-rule-preset-recommend", rule: recommendedRules }] },
  noPhysicFilePath: true,
};
// Many small strings go to secretlint as one text: a call costs milliseconds whatever its size.
const SECRETLINT_BATCH_CHARS = 256 * 1024;
const BATCH_SEPARATOR = "\n\n";
// Private-use characters mark identifiers masked for the length of a pass; telemetry cannot
// smuggle them in, because the text is scrubbed of them first.
const MASK_OPEN = "\uE000";
const MASK_CLOSE = "\uE001";
const MASK_CHARS = /[\uE000\uE001]/g;

export interface RedactionCounts {
  total: number;
  byKind: Record<string, number>;
}

/**
 * The one redactor everything passes through before it leaves the process (Claude, GitHub, Jira,
 * the report). Secretlint's recommended rules find provider tokens and credentials; the patterns
 * in secret-patterns.ts cover what it leaves alone in free text. Matches become typed
 * placeholders such as `[REDACTED:aws-key]`, and every replacement is counted.
 *
 * `keep` lists identifiers the caller owns (fingerprints, SHAs, branch names, markers): they are
 * masked for the pass, so a fingerprint that happens to pass the Luhn check is never redacted.
 */
export class Redactor {
  private readonly counts: Record<string, number> = {};
  /** Sees every value redacted; only the benchmark listens, to tell true findings from false. */
  private readonly onFinding: ((kind: string, value: string) => void) | undefined;

  constructor(options: { onFinding?: (kind: string, value: string) => void } = {}) {
    this.onFinding = options.onFinding;
  }

  get stats(): RedactionCounts {
    const byKind = { ...this.counts };
    return { total: Object.values(byKind).reduce((a, b) => a + b, 0), byKind };
  }

  async redact(text: string, keep: readonly string[] = []): Promise<string> {
    const [out = text] = await this.redactAll([text], keep);
    return out;
  }

  /** Redacts many texts with one secretlint pass per batch; the order of the answer is the input's. */
  async redactAll(texts: readonly string[], keep: readonly string[] = []): Promise<string[]> {
    const masks = keep.filter((k) => k.length > 0).sort((a, b) => b.length - a.length);
    const patterned = texts.map((text) =>
      text === "" ? text : this.redactWithPatterns(mask(text.replace(MASK_CHARS, ""), masks)),
    );
    const linted = await this.redactWithSecretlint(patterned);
    return linted.map((text) => unmask(text, masks));
  }

  /**
   * Redacts text whose line structure must survive (a diff's hunks count lines): key blocks are
   * blanked line by line, no replacement removes a newline, and git's `index` lines (object ids)
   * are kept as they are.
   */
  async redactPreservingLines(text: string, keep: readonly string[] = []): Promise<string> {
    const lines = text.split("\n");
    let inBlock = false;
    const indexLines: string[] = [];
    const masked = lines.map((line) => {
      if (/^index [0-9a-f]{7,64}\.\.[0-9a-f]{7,64}(?: [0-7]{6})?$/.test(line)) indexLines.push(line);
      const begins = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY/.test(line);
      if (begins && !inBlock) this.count("private-key", line);
      if (begins) inBlock = true;
      if (!inBlock) return line;
      if (/-----END [A-Z0-9 ]*PRIVATE KEY/.test(line)) inBlock = false;
      const prefix = diffPrefixed(line) ? line.charAt(0) : "";
      return `${prefix}[REDACTED:private-key]`;
    });
    return this.redact(masked.join("\n"), [...keep, ...indexLines]);
  }

  /** Redacts every string inside a JSON-like value, keys included, in one batch. */
  async redactDeep<T>(value: T, keep: readonly string[] = []): Promise<T> {
    const strings: string[] = [];
    collectStrings(value, strings);
    const redacted = await this.redactAll(strings, keep);
    let next = 0;
    return rebuild(value, () => redacted[next++] ?? "") as T;
  }

  private redactWithPatterns(text: string): string {
    let out = text;
    for (const [kind, pattern] of PATTERNS) {
      out = out.replace(pattern, (match: string, ...groups: unknown[]) => {
        if (kind === "card-number" && !luhnValid(match)) return match;
        if (
          kind === "connection-string" &&
          PLACEHOLDER_PASSWORD.test(/:\/\/[^:]*:([^@]*)@/.exec(match)?.[1] ?? "")
        )
          return match;
        if (kind === "secret") {
          const [key, , quote, value, offset, whole] = groups as [
            string,
            string,
            string,
            string,
            number,
            string,
          ];
          const separator = /["'`]?[ \t]*[:=][ \t]*["'`]?$/.exec(key)?.[0] ?? "=";
          const candidate = {
            key: key.slice(0, key.length - separator.length),
            separator: separator.replace(/["'`]/g, ""),
            value,
            quoted: quote !== "",
            after: whole.slice(offset + match.length, offset + match.length + 4),
          };
          if (!isSecretValue(candidate)) return match;
          this.count(kind, value);
          // The key stays so the text still says what was removed.
          return `${key}[REDACTED:${kind}]`;
        }
        this.count(kind, match);
        return placeholder(match, kind);
      });
    }
    return out;
  }

  private async redactWithSecretlint(texts: string[]): Promise<string[]> {
    const out = [...texts];
    let batch: number[] = [];
    let size = 0;
    const flush = async () => {
      if (batch.length > 0) await this.lintBatch(out, batch);
      batch = [];
      size = 0;
    };
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i] ?? "";
      if (text === "") continue;
      if (size > 0 && size + text.length > SECRETLINT_BATCH_CHARS) await flush();
      batch.push(i);
      size += text.length + BATCH_SEPARATOR.length;
    }
    await flush();
    return out;
  }

  /** One secretlint call over several texts; each finding is cut back to the texts it covers. */
  private async lintBatch(texts: string[], indexes: number[]): Promise<void> {
    const starts: number[] = [];
    let offset = 0;
    for (const i of indexes) {
      starts.push(offset);
      offset += (texts[i] ?? "").length + BATCH_SEPARATOR.length;
    }
    const content = indexes.map((i) => texts[i] ?? "").join(BATCH_SEPARATOR);
    const result = await lintSource({
      source: { content, filePath: "telemetry.txt", ext: ".txt", contentType: "text" },
      options: SECRETLINT_OPTIONS,
    });
    const findings = new Map<number, Array<{ start: number; end: number; kind: string }>>();
    for (const message of result.messages) {
      const [from, to] = message.range;
      this.count(kindOf(message.ruleId), content.slice(from, to));
      indexes.forEach((textIndex, n) => {
        const start = starts[n] ?? 0;
        const end = start + (texts[textIndex] ?? "").length;
        if (to <= start || from >= end) return;
        const list = findings.get(textIndex) ?? [];
        list.push({
          start: Math.max(from, start) - start,
          end: Math.min(to, end) - start,
          kind: kindOf(message.ruleId),
        });
        findings.set(textIndex, list);
      });
    }
    for (const [textIndex, ranges] of findings) {
      let out = texts[textIndex] ?? "";
      let lastStart = Number.POSITIVE_INFINITY;
      for (const { start, end, kind } of ranges.sort((a, b) => b.start - a.start)) {
        if (end > lastStart) continue; // overlapping findings: the later (outer) one already replaced it
        out = `${out.slice(0, start)}${placeholder(out.slice(start, end), kind)}${out.slice(end)}`;
        lastStart = start;
      }
      texts[textIndex] = out;
    }
  }

  private count(kind: string, value = ""): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    this.onFinding?.(kind, value);
  }
}

/** A placeholder per line of the match, keeping a diff line's +/-/space prefix, so hunks still count. */
function placeholder(match: string, kind: string): string {
  return match
    .split("\n")
    .map((line, i) => `${i > 0 && diffPrefixed(line) ? line.charAt(0) : ""}[REDACTED:${kind}]`)
    .join("\n");
}

/** A diff line's +/-/space prefix; a key block's own `-----END` line has none. */
function diffPrefixed(line: string): boolean {
  return /^[-+ ]/.test(line) && !line.startsWith("-----");
}

function mask(text: string, masks: readonly string[]): string {
  let out = text;
  masks.forEach((value, i) => {
    if (out.includes(value)) out = out.replaceAll(value, `${MASK_OPEN}${i}${MASK_CLOSE}`);
  });
  return out;
}

function unmask(text: string, masks: readonly string[]): string {
  if (masks.length === 0 || !text.includes(MASK_OPEN)) return text;
  return text.replace(/\uE000(\d+)\uE001/g, (_, i: string) => masks[Number(i)] ?? "");
}

function kindOf(ruleId: string): string {
  return ruleId.replace(/^@secretlint\/secretlint-rule-/, "");
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    Boolean(value) && typeof value === "object" && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

function collectStrings(value: unknown, into: string[]): void {
  if (typeof value === "string") into.push(value);
  else if (Array.isArray(value)) for (const v of value) collectStrings(v, into);
  else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      into.push(k);
      collectStrings(v, into);
    }
  }
}

/** Rebuilds a value in collectStrings' order, taking each string from `next`. */
function rebuild(value: unknown, next: () => string): unknown {
  if (typeof value === "string") return next();
  if (Array.isArray(value)) return value.map((v) => rebuild(v, next));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const v of Object.values(value)) {
      const key = next();
      out[key] = rebuild(v, next);
    }
    return out;
  }
  return value;
}

/** Everything telemetry put into a group, redacted (in one batch) before evidence or analysis sees it. */
export async function redactGroup<G extends RedactableGroup>(group: G, redactor: Redactor): Promise<G> {
  const text = await redactor.redactDeep({
    title: group.title,
    slug: group.slug,
    message: group.grouping.message,
    samples: group.samples.map((s) => ({ name: s.name, message: s.message, stacktrace: s.stacktrace })),
    attributes: group.samples.map((s) => s.attributes),
  });
  return {
    ...group,
    title: text.title,
    slug: text.slug,
    grouping: { ...group.grouping, message: text.message },
    samples: group.samples.map((sample, i) => ({
      ...sample,
      ...text.samples[i],
      attributes: text.attributes[i] ?? {},
    })),
  };
}

interface RedactableGroup {
  title: string;
  slug: string;
  grouping: { message: string };
  samples: Array<{ name: string; message: string; stacktrace: string; attributes: Record<string, unknown> }>;
}
