/**
 * The patterns the redactor adds to secretlint's rules, for what secretlint leaves alone in free
 * text (telemetry attributes, messages, diffs of application code). Each is measured for false
 * positives on real code as well as recall (`npm run bench`, redaction section).
 */

// Provider-specific shapes first, generic ones after, so a token is named for what it is.
export const PATTERNS: ReadonlyArray<readonly [kind: string, pattern: RegExp]> = [
  [
    "private-key",
    /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
  ],
  ["jwt", /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g],
  ["aws-key", /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g],
  ["anthropic-key", /\bsk-ant-[A-Za-z0-9_-]{20,}/g],
  ["api-key", /\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}/g],
  ["github-token", /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/g],
  // A bearer credential has a digit or a symbol; "Bearer authentication" in prose does not.
  ["bearer-token", /\b(Bearer|Token)[ \t]+(?=[A-Za-z._~+/-]*[0-9\-._~+/])[A-Za-z0-9\-._~+/]{16,}=*/gi],
  ["connection-string", /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"'`<>()]+:[^\s@"'`<>()]+@[^\s"'`<>()]+/gi],
  // key=value / key: value where the key names a secret; the value goes, the key stays readable.
  // Which values are secrets (rather than code, types or numbers) is decided by isSecretValue.
  [
    "secret",
    /((?<![\w.:/-])[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth(?!or|ority|ored|oring|entica)|credential|private[_-]?key|session[_-]?id)[\w.-]*(["']?)[ \t]*[:=][ \t]*(["'`]?))(?!\[REDACTED)([^\s"'`,;&]{6,})/gi,
  ],
  ["gcp-api-key", /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g],
  // Not `logo@2x.png`: a retina asset's "domain" starts with a scale and ends in a file extension.
  [
    "email",
    /\b[A-Za-z0-9._%+-]+@(?!\d+(?:\.\d+)?x[.-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?!(?:png|jpe?g|gif|svg|webp|avif|ico|js|mjs|cjs|ts|css|json|html?|md)\b)[A-Za-z]{2,}\b/g,
  ],
  // Card networks start with 2–6 (Mastercard 2-series, Amex/Diners 3, Visa 4, Mastercard 5,
  // Discover 6): epoch timestamps (1…) and ids starting 7–9 never look like cards, whatever Luhn says.
  ["card-number", /\b[2-6](?:[ -]?\d){12,18}\b/g],
];

const SECRET_WORD =
  /password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth|credential|private[_-]?key|session[_-]?id/i;

/** Placeholders that stand where a password would in examples and templates. */
export const PLACEHOLDER_PASSWORD =
  /^(?:\$\{[^}]*\}|\{\{[^}]*\}\}|<[^>]*>|\*+|x+|password|pass|passwd|pwd|secret|redacted)$/i;

// Words that follow `token:` or `password =` in code as types, literals, keywords or options.
const CODE_WORDS = new Set(
  [
    "null",
    "undefined",
    "none",
    "nil",
    "true",
    "false",
    "string",
    "str",
    "number",
    "boolean",
    "bool",
    "object",
    "unknown",
    "optional",
    "required",
    "readonly",
    "public",
    "private",
    "protected",
    "static",
    "final",
    "const",
    "await",
    "typeof",
    "instanceof",
    "function",
    "return",
    "self",
    "this",
    "secret",
    "password",
    "redacted",
    "changeme",
    "include",
    "omit",
    "same-origin",
    "basic",
    "bearer",
    "digest",
    "oauth",
    "oauth2",
    "header",
    "cookie",
    "hidden",
    "masked",
    "sensitive",
  ].map((w) => w.toLowerCase()),
);

// Keys that describe a secret rather than hold one: `tokenType`, `password_field`, `TOKEN_ENDPOINT`,
// `input_tokens` (a count), `oauth_scope`, `_authState`.
const DESCRIBING_KEY =
  /(?:type|name|names|kind|endpoint|url|uri|path|file|field|header|param|params|length|len|count|size|limit|expires|expiry|ttl|usage|attempts|state|scope|policy|prompt|label|hint|mode|format|version|provider|source|var|tokens|keys|secrets|passwords|rule|rules|pattern|regex|schema|error|exception|manager|service|store|client|factory|helper|handler|storage|cache|required|enabled|missing|invalid|expired)$/i;

export interface KeyValue {
  /** The key without quotes, e.g. `db_password`. */
  key: string;
  /** `=`, `: ` … as written between key and value. */
  separator: string;
  value: string;
  quoted: boolean;
  /** A few characters right after the value. */
  after: string;
}

/**
 * Whether `key: value` / `key=value` holds a secret rather than code or prose. Code reads a secret
 * from somewhere (`token.substring(0, pos)`, `options.token`, `u?.input_tokens`, `getToken()`),
 * names a type or a variable (`token: string`, `apiKey = accessToken;`) or describes one
 * (`tokenType`); a secret is a literal with some entropy.
 */
export function isSecretValue({ key, separator, value, quoted, after }: KeyValue): boolean {
  if (value.includes("\uE000")) return false; // an identifier tracefix masked on purpose
  if (DESCRIBING_KEY.test(key.replace(/[^A-Za-z0-9]/g, ""))) return false;
  // `token.indent = …`: a property of something named token, not the token.
  const lastSegment = key.split(".").at(-1) ?? key;
  if (!SECRET_WORD.test(lastSegment)) return false;
  if (/^[$%{<]|\$\{|\{\{/.test(value)) return false; // ${ENV}, $VAR, %(x)s, {{ var }}, <placeholder>
  if (!/[A-Za-z]/.test(value)) return false; // numbers, versions, dates: counts, not credentials
  const bare = value.replace(/[.:!]+$/, "");
  if (CODE_WORDS.has(bare.toLowerCase())) return false;
  // A name made of words (refresh_token, gen_ai.usage.input_tokens, user-to-server, ApiKeyError):
  // configuration vocabulary, not a credential. A credential mixes in digits or has no word shape.
  const wordy = /^[A-Za-z]+(?:[_.:/-][A-Za-z]+)*$/.test(bare);
  if (quoted) {
    // "Illegal expression. Wrap…": a quoted sentence is a message, not a credential.
    if (/^ [A-Za-z]/.test(after)) return false;
    // "?InterpolationInTemplate", "#private": a sigil before a name is still a name.
    const name = bare.replace(/^[?#@:!]/, "");
    const named =
      /^[A-Za-z]+(?:[_.:/-][A-Za-z]+)*$/.test(name) && (/[_.:/-]|[a-z][A-Z]/.test(name) || name !== bare);
    return !(named || /^\/|^https?:\/\/[^@]*$/.test(bare));
  }
  const codeFollows = /^\s*[;,)}\]?|&=]/.test(after);
  // `X-Atlassian-Token: no-check`: a header or prose value made of words after "key: ".
  if (wordy && separator.startsWith(":") && /^:\s/.test(separator) && !/[A-Z]/.test(bare)) return false;
  if (/[()[\]{}<>?|]|=>|^[=!]/.test(value)) return false; // calls, indexing, generics, ?. ??, comparisons
  // A member path (options.token, self.api_key, credentials_1.Credentials): code.
  if (/^[A-Za-z_$][\w$]*(?:(?:\.|::|->)[A-Za-z_$][\w$]*)+$/.test(bare) && (!/\d/.test(bare) || codeFollows))
    return false;
  if (/^[A-Za-z_$][\w$]*$/.test(bare) && (!/\d/.test(bare) || codeFollows)) {
    // A bare word: a variable in code (`= inherited;`, `: cursor,`, camelCase, CONSTANT_CASE) or a
    // word in prose (`its credential: polling always`); a secret in a log or env line
    // (`password=swordfish`, `password: swordfish` ending the line).
    if (/[a-z][A-Z]|_|\$|^[A-Z]+$/.test(bare) || codeFollows) return false;
    if (/^\s+=/.test(separator)) return false; // `token = element`: an assignment in code
    if (separator.startsWith(":") && /^ +[A-Za-z]/.test(after)) return false;
  }
  return true;
}

/** Card-like digit runs are only redacted when they pass the Luhn check. */
export function luhnValid(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, "");
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
