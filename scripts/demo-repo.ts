import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

export const DEMO_DIR = new URL("../fixtures/demo/", import.meta.url).pathname;

export interface DemoCommit {
  snapshot: string;
  subject: string;
  date: string;
  deployedAt?: string;
  /** The service this commit was deployed to (a monorepo deploys per service); default the manifest's. */
  service?: string;
  sha?: string;
}

export interface DemoManifest {
  service: string;
  repository: string;
  window: { since: string; until: string };
  commits: DemoCommit[];
}

export function readDemoManifest(): DemoManifest {
  return JSON.parse(readFileSync(join(DEMO_DIR, "manifest.json"), "utf8")) as DemoManifest;
}

/**
 * Builds the demo service's git history from the snapshots in fixtures/demo/history (each one
 * the files its commit adds or changes). Author,
 * committer and dates are fixed, so the SHAs are the same on every machine and match the
 * build.commit_sha values recorded in the telemetry fixture.
 */
export function buildDemoRepo(dir: string, manifest = readDemoManifest()): string[] {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const git = (args: string[], date?: string) =>
    execFileSync(
      "git",
      [
        "-c",
        "init.defaultBranch=main",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "core.hooksPath=/dev/null",
        ...args,
      ],
      {
        cwd: dir,
        encoding: "utf8",
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          GIT_CONFIG_NOSYSTEM: "1",
          GIT_AUTHOR_NAME: "Dana Developer",
          GIT_AUTHOR_EMAIL: "dana@acme.example",
          GIT_COMMITTER_NAME: "Dana Developer",
          GIT_COMMITTER_EMAIL: "dana@acme.example",
          ...(date ? { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : {}),
        },
      },
    ).trim();
  git(["init", "-q"]);
  const shas: string[] = [];
  for (const commit of manifest.commits) {
    // Each snapshot holds only what its commit changes, laid over the previous tree.
    cpSync(join(DEMO_DIR, "history", commit.snapshot), dir, { recursive: true });
    git(["add", "-A"]);
    git(["commit", "-q", "-m", commit.subject], commit.date);
    shas.push(git(["rev-parse", "HEAD"]));
  }
  const expected = manifest.commits.map((c) => c.sha);
  if (expected.every((sha) => sha !== undefined) && expected.join() !== shas.join()) {
    throw new Error(
      `demo repository SHAs ${shas.join(", ")} differ from fixtures/demo/manifest.json (${expected.join(", ")}); ` +
        "re-record the fixture with `node scripts/record-demo-telemetry.ts`",
    );
  }
  return shas;
}

/** The billing service's last deployed commit: the demo's error regression (later commits deploy other services). */
export function billingRegressionSha(manifest = readDemoManifest()): string {
  return (
    manifest.commits.filter((c) => (c.service ?? manifest.service) === manifest.service).at(-1)?.sha ?? ""
  );
}
