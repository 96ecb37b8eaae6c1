import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { lintSource } from "@secretlint/core";
import { creator as recommendedRules } from "@secretlint/secretlint-rule-preset-recommend";
import { Redactor } from "../src/evidence/redact.ts";
import { secretCorpus } from "../test/helpers/secrets.ts";

/**
 * Precision and recall of the redactor, measured on real text:
 * - false positives: JavaScript, TypeScript and Markdown shipped in node_modules, fed as added
 *   lines of a diff (how code reaches the redactor), counted per rule per MB;
 * - recall: every secret in test/helpers/secrets.ts (the canaries and provider key formats), each
 *   embedded in the contexts it shows up in (log line, JSON attribute, env line, code literal).
 * A finding on the code corpus counts as false unless a person reviewed it and judged it a secret
 * by shape (fixtures/redaction/reviewed-findings.json: example tokens, test cards, password
 * literals in tests). Emails are PII and redacted by policy. Unreviewed findings are printed.
 */
export interface RedactionFigures {
  corpusMb: number;
  files: number;
  throughputMbPerS: number;
  /** Every finding on the code corpus, by rule: false (unreviewed), reviewed (secrets by shape), PII. */
  byRule: Array<{ rule: string; findings: number; falseFindings: number; falsePerMb: number }>;
  falsePer10Mb: number;
  /** Secretlint's recommended preset alone on the same corpus (unreviewed findings): the trivial baseline. */
  baselineSecretlintOnlyPer10Mb: number;
  unreviewed: string[];
  recall: Array<{ kind: string; found: number; total: number }>;
  recallOverall: number;
  baselineSecretlintOnlyRecall: number;
}

const EXTENSIONS = /\.(?:[cm]?js|ts|md)$/;
const MAX_FILE_BYTES = 512 * 1024;

/**
 * The packages the corpus reads, named so that adding a dependency does not move the figures:
 * SDKs and clients (JS and docs full of example credentials), a parser and a bundler (code full
 * of `token`), schemas, and test runners.
 */
export const CORPUS_PACKAGES = [
  "@anthropic-ai",
  "@babel",
  "@octokit",
  "@opentelemetry",
  "@secretlint",
  "@vitest",
  "diff",
  "jira.js",
  "typescript",
  "undici",
  "vite",
  "vitest",
  "yaml",
  "zod",
];

export function codeCorpus(root: string, targetBytes: number): Array<{ path: string; text: string }> {
  const files: Array<{ path: string; text: string }> = [];
  let total = 0;
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (total >= targetBytes) return;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== ".bin" && entry.name !== "node") visit(path);
      } else if (
        EXTENSIONS.test(entry.name) &&
        !entry.name.includes(".min.") &&
        !entry.name.endsWith(".d.ts")
      ) {
        const size = statSync(path).size;
        if (size === 0 || size > MAX_FILE_BYTES) continue;
        files.push({ path: relative(root, path), text: readFileSync(path, "utf8") });
        total += size;
      }
    }
  };
  for (const name of CORPUS_PACKAGES) if (existsSync(join(root, name))) visit(join(root, name));
  return files;
}

/** A file as an added-file diff, the shape GitHub and `git diff-tree -p` give the redactor. */
function asDiff(path: string, text: string): string {
  const lines = text.split("\n");
  return `diff --git a/${path} b/${path}\nnew file mode 100644\n--- /dev/null\n+++ b/${path}\n@@ -0,0 +1,${lines.length} @@\n${lines.map((l) => `+${l}`).join("\n")}\n`;
}

export async function measureRedaction(nodeModules: string, targetMb: number): Promise<RedactionFigures> {
  const corpus = codeCorpus(nodeModules, targetMb * 1024 * 1024);
  const bytes = corpus.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
  const mb = bytes / (1024 * 1024);
  const reviewed = new Set(reviewedFindings().map((r) => `${r.kind}:${r.sha256}`));
  const rules = new Map<string, { findings: number; falseFindings: number }>();
  const unreviewed: string[] = [];
  let currentPath = "";
  const redactor = new Redactor({
    onFinding: (kind, value) => {
      const rule = rules.get(kind) ?? { findings: 0, falseFindings: 0 };
      rule.findings += 1;
      // Emails are PII: redacting them is the policy, not a false positive.
      if (kind !== "email" && !reviewed.has(`${kind}:${hashOf(value)}`)) {
        rule.falseFindings += 1;
        if (unreviewed.length < 20)
          unreviewed.push(`${currentPath}: ${kind} ${JSON.stringify(value.slice(0, 60))}`);
      }
      rules.set(kind, rule);
    },
  });
  const started = performance.now();
  for (const file of corpus) {
    currentPath = file.path;
    await redactor.redactPreservingLines(asDiff(file.path, file.text));
  }
  const seconds = (performance.now() - started) / 1000;
  const byRule = [...rules.entries()]
    .map(([rule, r]) => ({ rule, ...r, falsePerMb: round(r.falseFindings / mb, 3) }))
    .sort((a, b) => b.findings - a.findings);
  const falseTotal = byRule.reduce((n, r) => n + r.falseFindings, 0);

  let baselineFalse = 0;
  for (const file of corpus) {
    const diff = asDiff(file.path, file.text);
    for (const [from, to] of await secretlintOnly(diff)) {
      if (!reviewed.has(`${kindOfRule(diff, from, to, reviewed)}`)) baselineFalse += 1;
    }
  }

  const recall = new Map<string, { found: number; total: number }>();
  let baselineFound = 0;
  const recallRedactor = new Redactor();
  for (const { kind, secret, contexts } of secretCorpus()) {
    for (const text of contexts) {
      const out = await recallRedactor.redact(text);
      const entry = recall.get(kind) ?? { found: 0, total: 0 };
      entry.total += 1;
      if (!leaks(out, secret)) entry.found += 1;
      recall.set(kind, entry);
      const ranges = await secretlintOnly(text);
      if (ranges.some(([from, to]) => text.slice(from, to).includes(secret.split("\n")[0] ?? secret)))
        baselineFound += 1;
    }
  }
  const found = [...recall.values()].reduce((n, r) => n + r.found, 0);
  const total = [...recall.values()].reduce((n, r) => n + r.total, 0);
  return {
    corpusMb: round(mb, 1),
    files: corpus.length,
    throughputMbPerS: round(mb / seconds, 1),
    byRule,
    falsePer10Mb: round((falseTotal / mb) * 10, 2),
    baselineSecretlintOnlyPer10Mb: round((baselineFalse / mb) * 10, 2),
    unreviewed,
    recall: [...recall.entries()].map(([kind, r]) => ({ kind, ...r })),
    recallOverall: round(found / total, 4),
    baselineSecretlintOnlyRecall: round(baselineFound / total, 4),
  };
}

/** The reviewed-set key a secretlint finding would have under any kind (its value is what counts). */
function kindOfRule(text: string, from: number, to: number, reviewed: Set<string>): string {
  const hash = hashOf(text.slice(from, to));
  for (const key of reviewed) if (key.endsWith(`:${hash}`)) return key;
  return `unreviewed:${hash}`;
}

async function secretlintOnly(content: string): Promise<Array<readonly [number, number]>> {
  const result = await lintSource({
    source: { content, filePath: "corpus.txt", ext: ".txt", contentType: "text" },
    options: {
      config: { rules: [{ id: "@secretlint/secretlint-rule-preset-recommend", rule: recommendedRules }] },
      noPhysicFilePath: true,
    },
  });
  return result.messages.map((m) => m.range);
}

interface ReviewedFinding {
  kind: string;
  sha256: string;
  seenIn: string;
  why: string;
}

function reviewedFindings(): ReviewedFinding[] {
  const file = new URL("../fixtures/redaction/reviewed-findings.json", import.meta.url);
  return (JSON.parse(readFileSync(file, "utf8")) as { reviewed: ReviewedFinding[] }).reviewed;
}

export function hashOf(value: string): string {
  return createHash("sha256").update(value).digest("hex").slice(0, 16);
}

/** A secret leaks when any long-enough piece of it survives (a half-redacted key is still a leak). */
export function leaks(out: string, secret: string): boolean {
  const core = secret.replace(/\s+/g, "");
  if (core.length < 12) return out.includes(secret);
  for (let i = 0; i + 12 <= core.length; i += 4)
    if (out.replace(/\s+/g, "").includes(core.slice(i, i + 12))) return true;
  return false;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
