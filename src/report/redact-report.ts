import { z } from "zod";
import type { Redactor } from "../evidence/redact.ts";
import { identifierFields } from "../identifiers.ts";
import { type ReportGroup, ReportGroupSchema } from "./schema.ts";

/**
 * The last redaction pass over what the report carries. Fields the schema marks as identifiers
 * are left as they are, and their values are masked wherever free text quotes them, so the pass
 * can never destroy a fingerprint, a SHA or a marker that the next night looks for.
 */
export async function redactReportGroups(groups: ReportGroup[], redactor: Redactor): Promise<ReportGroup[]> {
  const schema = z.array(ReportGroupSchema);
  const keep = new Set<string>();
  const free: string[] = [];
  walk(groups, schema, (text, isIdentifier) => {
    if (isIdentifier) keep.add(text);
    else free.push(text);
    return text;
  });
  const redacted = await redactor.redactAll(free, [...keep]);
  let next = 0;
  return walk(groups, schema, (text, isIdentifier) =>
    isIdentifier ? text : (redacted[next++] ?? ""),
  ) as ReportGroup[];
}

type Visit = (text: string, isIdentifier: boolean) => string;

/** Walks a value beside its schema, handing every string to `visit` in a stable order. */
function walk(value: unknown, schema: z.ZodType | undefined, visit: Visit): unknown {
  const inner = unwrap(schema);
  const isIdentifier = inner !== undefined && identifierFields.has(inner);
  if (typeof value === "string") return visit(value, isIdentifier);
  if (Array.isArray(value)) {
    const element = inner instanceof z.ZodArray ? (inner.element as z.ZodType) : undefined;
    return value.map((v) => walk(v, element, visit));
  }
  if (value && typeof value === "object") {
    const shape = inner instanceof z.ZodObject ? (inner.shape as Record<string, z.ZodType>) : undefined;
    const values = inner instanceof z.ZodRecord ? (inner.valueType as z.ZodType) : undefined;
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      // Keys the schema names are ours; keys of a record or an unknown object came from outside.
      const name = shape && key in shape ? key : visit(key, false);
      out[name] = walk(v, shape?.[key] ?? values, visit);
    }
    return out;
  }
  return value;
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  while (
    current instanceof z.ZodOptional ||
    current instanceof z.ZodNullable ||
    current instanceof z.ZodDefault
  ) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}
