import type { RunConfig, SourceSpec } from "../config.ts";
import { HoneycombSource } from "./honeycomb.ts";
import { OtlpFileSource } from "./otlp-file.ts";
import { SignozSource } from "./signoz.ts";
import type { TelemetrySource } from "./source.ts";

/** One line per backend: adding Tempo or Datadog is a new file plus a case here. */
export function createSources(
  config: Pick<RunConfig, "sources" | "telemetry">,
  onRequest?: (line: string) => void,
): TelemetrySource[] {
  const options = { ...config.telemetry, ...(onRequest ? { onRequest } : {}) };
  return config.sources.map((spec: SourceSpec): TelemetrySource => {
    if (spec.kind === "signoz") return new SignozSource(spec.url, spec.apiKey, options);
    if (spec.kind === "honeycomb")
      return new HoneycombSource(spec.apiUrl, spec.apiKey, spec.dataset, options);
    return new OtlpFileSource(spec.path);
  });
}
