import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { CliOptions, SourceSpec } from "./config.ts";
import type { Env } from "./config-schema.ts";
import { UsageError } from "./usage-error.ts";

/** Which telemetry sources a run reads, from --source, --input and the environment. */
const SOURCE_NAMES = ["signoz", "honeycomb", "file", "all"] as const;

export function chooseSources(options: CliOptions, env: Env, cwd: string): SourceSpec[] {
  const source = options.source ?? (options.input ? "file" : "all");
  if (!(SOURCE_NAMES as readonly string[]).includes(source)) {
    throw new UsageError(`--source: expected one of ${SOURCE_NAMES.join(", ")}, got '${source}'`);
  }
  const file = (): SourceSpec | null => {
    if (!options.input) return null;
    const path = resolve(cwd, options.input);
    if (!existsSync(path)) throw new UsageError(`--input ${options.input}: file not found`);
    if (statSync(path).isDirectory())
      throw new UsageError(
        `--input ${options.input}: is a directory; pass the exporter's .jsonl (or .jsonl.gz) file`,
      );
    return { kind: "file", path };
  };
  let chosen: Array<SourceSpec | null>;
  switch (source) {
    case "file":
      if (!options.input) throw new UsageError("--source file needs --input <path.jsonl>");
      chosen = [file()];
      break;
    case "signoz":
      chosen = [signozSpec(env, true)];
      break;
    case "honeycomb":
      chosen = [honeycombSpec(env, true)];
      break;
    default:
      chosen = [signozSpec(env, false), honeycombSpec(env, false), file()];
  }
  const sources = chosen.filter((s): s is SourceSpec => s !== null);
  if (sources.length === 0) {
    throw new UsageError(
      "no telemetry source configured: pass --input <file.jsonl>, or set SIGNOZ_URL and SIGNOZ_API_KEY, or HONEYCOMB_API_KEY and HONEYCOMB_DATASET",
    );
  }
  return sources;
}

/** SigNoz from the environment: null when unset (unless required), an error when half set. */
export function signozSpec(env: Env, required: boolean): Extract<SourceSpec, { kind: "signoz" }> | null {
  if (!env.SIGNOZ_URL && !env.SIGNOZ_API_KEY && !required) return null;
  if (!env.SIGNOZ_URL)
    throw new UsageError("the signoz source needs SIGNOZ_URL (e.g. https://signoz.example.com)");
  if (!env.SIGNOZ_API_KEY)
    throw new UsageError("the signoz source needs SIGNOZ_API_KEY (a service-account API key)");
  return { kind: "signoz", url: env.SIGNOZ_URL, apiKey: env.SIGNOZ_API_KEY };
}

/** Honeycomb from the environment: null when unset (unless required), an error when half set. */
export function honeycombSpec(
  env: Env,
  required: boolean,
): Extract<SourceSpec, { kind: "honeycomb" }> | null {
  if (!env.HONEYCOMB_API_KEY && !env.HONEYCOMB_DATASET && !required) return null;
  if (!env.HONEYCOMB_API_KEY) throw new UsageError("the honeycomb source needs HONEYCOMB_API_KEY");
  if (!env.HONEYCOMB_DATASET) throw new UsageError("the honeycomb source needs HONEYCOMB_DATASET");
  return {
    kind: "honeycomb",
    apiUrl: env.HONEYCOMB_API_URL,
    apiKey: env.HONEYCOMB_API_KEY,
    dataset: env.HONEYCOMB_DATASET,
  };
}
