/**
 * Strips the variable parts of an exception message so that the same failure with different ids,
 * numbers or values groups together (Sentry's grouping does the same before hashing). Order
 * matters: wide patterns (URLs, emails, timestamps) go before the narrow ones they contain.
 */
const RULES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>()]+/gi, "<url>"],
  [/\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/g, "<email>"],
  [/\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b/g, "<date>"],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, "<uuid>"],
  [/\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b/g, "<ip>"],
  [/(?<![\w:])(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}(?![\w:])/gi, "<ip>"],
  [/"[^"\n]*"|'[^'\n]*'|`[^`\n]*`/g, "<str>"],
  // Hex only when it has a digit, so words like "deadbeef" ids are caught but "failed" is not.
  [/\b(?:0x)?(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b/gi, "<hex>"],
  // Prefixed ids such as inv_8f3a2c or req-42: keep the prefix, drop the variable tail.
  [/\b([a-z]{2,10}[_-])(?=[a-z0-9]*\d)[a-z0-9]{3,}\b/gi, "$1<id>"],
  // Digits not glued to a preceding letter: "3813ms" and "42" vary, "utf8" and "v2" are names.
  [/(?<![A-Za-z_<])-?\d+(?:[.,]\d+)*/g, "<num>"],
];

const MAX_LENGTH = 300;

// Regexes run on at most this much: a hostile 100k-character message must not cost seconds.
const MAX_INPUT = 2_000;

export function normaliseMessage(message: string): string {
  let text = message.slice(0, MAX_INPUT).split("\n", 1)[0] ?? "";
  for (const [pattern, replacement] of RULES) text = text.replace(pattern, replacement);
  text = text.replace(/\s+/g, " ").trim();
  return text.length > MAX_LENGTH ? text.slice(0, MAX_LENGTH) : text;
}
