import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEMO_DIR, readDemoManifest } from "../../scripts/demo-repo.ts";

const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in its own process with only the given environment (no inherited secrets). */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; nodeOptions?: string[] } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeOptions ?? []), CLI, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...options.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The recorded demo telemetry and the window it sits in: the same input for every CLI test that needs it. */
export function demoWindowArgs(): string[] {
  const { window } = readDemoManifest();
  return ["--input", join(DEMO_DIR, "telemetry.jsonl"), "--since", window.since, "--until", window.until];
}
