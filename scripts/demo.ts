/**
 * `npm run demo`: builds the demo service's git history, then runs the real `triage` CLI over the
 * recorded telemetry with that checkout. Offline, no credentials; the window is the fixture's
 * own dates, so it works on any day.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { buildDemoRepo, DEMO_DIR, readDemoManifest } from "./demo-repo.ts";

const root = new URL("..", import.meta.url).pathname;
const manifest = readDemoManifest();
const repoDir = join(root, ".demo", "billing-service");
buildDemoRepo(repoDir, manifest);

// The installed bin when `npm ci` built it, else straight from source (Node 24 strips types).
const built = join(root, "dist", "cli.js");
const cli = existsSync(built) ? built : join(root, "src", "cli.ts");
const args = [
  cli,
  "--input",
  relative(process.cwd(), join(DEMO_DIR, "telemetry.jsonl")),
  "--since",
  manifest.window.since,
  "--until",
  manifest.window.until,
  "--repo-dir",
  relative(process.cwd(), repoDir),
  "--out",
  "triage-out/demo",
  "--dry-run",
  ...process.argv.slice(2),
];
process.stderr.write(`demo: ${relative(root, cli)} ${args.slice(1).join(" ")}\n`);
// A clean environment: the demo must not pick up real credentials from the shell.
const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" };
const result = spawnSync(process.execPath, args, { stdio: "inherit", env });
process.exitCode = result.status ?? 1;
