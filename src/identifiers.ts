import { z } from "zod";

/**
 * Fields whose values tracefix produces or must keep byte for byte (fingerprints, commit SHAs,
 * trace ids, branch names, URLs and paths it wrote). The last redaction pass over the report skips
 * them by construction, and masks their values inside the free text around them: a fingerprint
 * that happens to pass the Luhn check is an id, not a card number.
 */
export const identifierFields = z.registry<{ identifier: true }>();

export function identifier<T extends z.ZodType>(schema: T): T {
  identifierFields.add(schema, { identifier: true });
  return schema;
}
