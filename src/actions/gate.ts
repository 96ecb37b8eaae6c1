import { applyPatch, parsePatch } from "diff";
import type { Analysis } from "../analysis/analysis.ts";
import { hooksFor } from "../detectors/kinds.ts";
import type { Evidence } from "../evidence/gather.ts";
import type { ErrorGroup } from "../grouping/collector.ts";

export interface GateSettings {
  minConfidence: number;
  maxFiles: number;
  maxChangedLines: number;
  /** Extra deny-listed path patterns (globs with * and **), on top of the built-in ones. */
  denyPaths: string[];
  /** Let a patch touch files the group's commit did not change. Off by default. */
  allowPathsOutsideDiff: boolean;
}

export const DEFAULT_GATE: GateSettings = {
  minConfidence: 0.75,
  maxFiles: 5,
  maxChangedLines: 200,
  denyPaths: [],
  allowPathsOutsideDiff: false,
};

// Never touched by a tracefix PR: CI and workflows, lockfiles, secrets and env files, keys, config.
const BUILT_IN_DENY = [
  ".github/**",
  ".gitlab-ci.yml",
  ".circleci/**",
  "Jenkinsfile",
  "azure-pipelines.yml",
  ".buildkite/**",
  "**/package-lock.json",
  "**/yarn.lock",
  "**/pnpm-lock.yaml",
  "**/Cargo.lock",
  "**/go.sum",
  "**/poetry.lock",
  "**/Gemfile.lock",
  "**/composer.lock",
  "**/.env",
  "**/.env.*",
  "**/*.pem",
  "**/*.key",
  "**/*.p12",
  "**/*.pfx",
  "**/*.crt",
  "**/id_rsa*",
  "**/secrets/**",
  "**/*secret*",
  "**/*.tfvars",
  "**/.npmrc",
  "**/.pypirc",
  "Dockerfile",
  "**/docker-compose*.yml",
  "**/values*.yaml",
  "**/config/**",
  "**/*.config.json",
];

export interface FilePatch {
  path: string;
  /** Unified diff of this one file, as the model wrote it. */
  patch: string;
}

export type PrePatchDecision = { ok: true; files: FilePatch[] } | { ok: false; reason: string };

/**
 * Everything that can be decided without reading the repository: confidence, size, the
 * deny-list, paths inside the repository and inside the group's diff, and where the repository
 * came from (a span may name a repository to read from, never one to write to).
 */
export function checkPatch(
  analysis: Analysis,
  evidence: Evidence,
  settings: GateSettings,
  group?: ErrorGroup,
): PrePatchDecision {
  // Some kinds never get a PR, whatever the analyst proposed (agent configuration, for one).
  const refusal = group ? hooksFor(group)?.refusesPullRequests : undefined;
  if (refusal) return { ok: false, reason: refusal };
  if (!analysis.fix) return { ok: false, reason: "no patch proposed" };
  if (analysis.confidence < settings.minConfidence) {
    return {
      ok: false,
      reason: `confidence ${analysis.confidence} is below the ${settings.minConfidence} needed for a PR`,
    };
  }
  if (evidence.repositorySource !== "config" && evidence.repositorySource !== "env") {
    return {
      ok: false,
      reason:
        "the repository was not configured (triage.config.json or GITHUB_REPOSITORY); PRs only go to configured repositories",
    };
  }
  let parsed: ReturnType<typeof parsePatch>;
  try {
    parsed = parsePatch(analysis.fix.patch);
  } catch (error) {
    return {
      ok: false,
      reason: `the patch is not a unified diff (${error instanceof Error ? error.message : String(error)})`,
    };
  }
  const files = parsed.filter((p) => p.hunks.length > 0);
  if (files.length === 0) return { ok: false, reason: "the patch changes nothing" };
  if (files.length > settings.maxFiles)
    return { ok: false, reason: `the patch touches ${files.length} files (limit ${settings.maxFiles})` };
  const changed = files.reduce(
    (n, f) => n + f.hunks.reduce((m, h) => m + h.lines.filter((l) => /^[+-]/.test(l)).length, 0),
    0,
  );
  if (changed > settings.maxChangedLines)
    return { ok: false, reason: `the patch changes ${changed} lines (limit ${settings.maxChangedLines})` };
  const inDiff = new Set(evidence.files.map((f) => f.path));
  const result: FilePatch[] = [];
  for (const file of files) {
    const path = cleanPath(file.newFileName ?? file.oldFileName ?? "");
    const oldPath = cleanPath(file.oldFileName ?? "");
    for (const p of new Set([path, oldPath].filter((x) => x !== "" && x !== "/dev/null"))) {
      if (!insideRepository(p))
        return { ok: false, reason: `the patch reaches outside the repository (${p})` };
      const denied = [...BUILT_IN_DENY, ...settings.denyPaths].find((pattern) => globMatch(pattern, p));
      if (denied)
        return { ok: false, reason: `the patch touches a deny-listed path (${p} matches ${denied})` };
      if (!settings.allowPathsOutsideDiff && !inDiff.has(p))
        return { ok: false, reason: `the patch touches ${p}, which the group's commit did not change` };
    }
    if (path === "" || path === "/dev/null" || path !== oldPath) {
      return {
        ok: false,
        reason: "the patch creates, deletes or renames files; tracefix only edits existing files",
      };
    }
    result.push({ path, patch: renderFilePatch(path, file.hunks) });
  }
  return { ok: true, files: result };
}

/** Applies each file patch exactly (no fuzz) to its current text; null when any does not apply. */
export function applyFilePatches(
  files: FilePatch[],
  contents: Map<string, string | null>,
): Map<string, string> | string {
  const out = new Map<string, string>();
  for (const file of files) {
    const current = contents.get(file.path);
    if (current === null || current === undefined) return `${file.path} does not exist at the base`;
    const next = applyPatch(current, file.patch, { fuzzFactor: 0 });
    if (next === false) return `the patch does not apply cleanly to ${file.path}`;
    if (next === current) return `the patch leaves ${file.path} unchanged`;
    out.set(file.path, next);
  }
  return out;
}

/** jsdiff already drops a header's tab and timestamp; the a/ and b/ prefixes are ours to drop. */
function cleanPath(name: string): string {
  return name.replace(/^[ab]\//, "").trim();
}

function insideRepository(path: string): boolean {
  if (path.includes("\\") || /^[A-Za-z]:/.test(path)) return false;
  // An absolute path starts with an empty segment, which is refused with `..` and `.git`.
  return !path
    .split("/")
    .some((segment) => segment === ".." || segment === "." || segment === "" || segment === ".git");
}

/** `**` crosses directories, `*` does not; a pattern without a slash also matches any basename. */
export function globMatch(pattern: string, path: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split("**/")
      .map((part) =>
        part
          .split("**")
          .map((p) =>
            p
              .replace(/[.+^${}()|[\]\\]/g, "\\$&")
              .replace(/\*/g, "[^/]*")
              .replace(/\?/g, "[^/]"),
          )
          .join(".*"),
      )
      .join("(?:.*/)?")}$`,
    "i",
  );
  return regex.test(path);
}

function renderFilePatch(path: string, hunks: ReturnType<typeof parsePatch>[number]["hunks"]): string {
  const body = hunks
    .map((h) => `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@\n${h.lines.join("\n")}`)
    .join("\n");
  return `--- a/${path}\n+++ b/${path}\n${body}\n`;
}
