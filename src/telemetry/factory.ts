import type { SourceSpec } from "../config.ts";
import { UsageError } from "../usage-error.ts";
import { OtlpFileSource } from "./otlp-file.ts";
import type { TelemetrySource } from "./source.ts";

export function createSources(specs: readonly SourceSpec[]): TelemetrySource[] {
  return specs.map((spec) => {
    if (spec.kind === "file") return new OtlpFileSource(spec.path);
    // Said plainly rather than silently skipped: the user asked for this backend.
    throw new UsageError(
      `the ${spec.kind} source is not available in this version of tracefix yet; use --input <file.jsonl>`,
    );
  });
}
