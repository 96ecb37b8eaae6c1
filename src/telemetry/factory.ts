import type { RunConfig } from "../config.ts";
import { UsageError } from "../usage-error.ts";
import { OtlpFileSource } from "./otlp-file.ts";
import { SignozSource } from "./signoz.ts";
import type { TelemetrySource } from "./source.ts";

export function createSources(config: Pick<RunConfig, "sources" | "telemetry">): TelemetrySource[] {
  return config.sources.map((spec) => {
    switch (spec.kind) {
      case "file":
        return new OtlpFileSource(spec.path);
      case "signoz":
        return new SignozSource(spec.url, spec.apiKey, config.telemetry);
      default:
        // Said plainly rather than silently skipped: the user asked for this backend.
        throw new UsageError(`the ${spec.kind} source is not available in this version of tracefix yet`);
    }
  });
}
