import { accessSync, constants, existsSync, mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { UsageError } from "./usage-error.ts";

/** Paths named on the command line, checked before anything is read, spent or sent. */
export function existingDir(flag: string, path: string): string {
  if (!existsSync(path)) throw new UsageError(`${flag} ${path}: directory not found`);
  if (!statSync(path).isDirectory()) throw new UsageError(`${flag} ${path}: not a directory`);
  return path;
}

/**
 * The output directory must be usable before anything is spent or sent: created if missing, a
 * directory, and writable. Checked here so a bad --out costs nothing and shows no stack trace.
 */
export function writableDir(flag: string, path: string): string {
  if (existsSync(path) && !statSync(path).isDirectory())
    throw new UsageError(`${flag} ${path}: exists and is not a directory`);
  try {
    makeDirs(path);
    accessSync(path, constants.W_OK);
  } catch (error) {
    const code =
      (error as { code?: string }).code ?? (error instanceof Error ? error.message : String(error));
    throw new UsageError(`${flag} ${path}: cannot write there (${code})`);
  }
  return path;
}

/** mkdir -p one level at a time: Node's recursive mkdir spins forever under /proc. */
function makeDirs(path: string): void {
  if (existsSync(path)) return;
  const parent = dirname(path);
  if (parent !== path) makeDirs(parent);
  mkdirSync(path);
}
