import type { RunConfig, SourceSpec } from "../config.ts";
import { HoneycombSource } from "./honeycomb.ts";
import { OtlpFileSource } from "./otlp-file.ts";
import { SignozSource } from "./signoz.ts";
import type { TelemetrySource } from "./source.ts";

/** One line per backend: adding Tempo or Datadog is a new file plus a case here. */
export function createSources(config: Pick<RunConfig, "sources" | "telemetry">): TelemetrySource[] {
  return config.sources.map((spec: SourceSpec): TelemetrySource => {
    if (spec.kind === "signoz") return new SignozSource(spec.url, spec.apiKey, config.telemetry);
    if (spec.kind === "honeycomb")
      return new HoneycombSource(spec.apiUrl, spec.apiKey, spec.dataset, config.telemetry);
    return new OtlpFileSource(spec.path);
  });
}
