import { describe, expect, it } from "vitest";
import {
  isSecretValue,
  type KeyValue,
  luhnValid,
  PATTERNS,
  PLACEHOLDER_PASSWORD,
} from "../../src/evidence/secret-patterns.ts";

const pair = (over: Partial<KeyValue>): KeyValue => ({
  key: "db_password",
  separator: "=",
  value: "s3cr3t-value",
  quoted: false,
  after: "",
  ...over,
});

describe("isSecretValue: literals are secrets", () => {
  it.each<[string, Partial<KeyValue>]>([
    ["an env line", {}],
    ["a quoted literal", { separator: ": ", value: "Pa55-word", quoted: true, after: '",' }],
    [
      "a JSON value",
      { key: "client_secret", separator: ":", value: "aB3dE5fG7hJ9", quoted: true, after: '"}' },
    ],
    ["a bare word ending a log line", { key: "password", value: "swordfish", after: "" }],
    ["a bare word before another pair", { key: "password", value: "swordfish", after: " use" }],
    ["a YAML value with a digit", { key: "password", separator: ": ", value: "swordfish1", after: "\n" }],
    ["a hyphenated passphrase", { key: "password", value: "correct-horse-battery" }],
    ["a member-like value with digits", { key: "api_key", value: "ab12.cd34ef", after: "" }],
    ["a key with a prefix", { key: "GITHUB_TOKEN", value: "abcdef123456" }],
    ["a dotted key ending in the secret word", { key: "config.password", value: "hunter22" }],
    ["a session id", { key: "session_id", value: "sesn_011CZkZA" }],
  ])("%s", (_, over) => {
    expect(isSecretValue(pair(over))).toBe(true);
  });
});

describe("isSecretValue: code, types, descriptions and prose are not", () => {
  it.each<[string, Partial<KeyValue>]>([
    ["a masked identifier", { value: "\uE0000\uE001abcdef" }],
    ["a key that describes a secret", { key: "tokenType", value: "installation", quoted: true }],
    ["a key naming a count", { key: "gen_ai.usage.input_tokens", value: "12abc345" }],
    ["a key naming an endpoint", { key: "TOKEN_ENDPOINT", value: "v1oauthtoken", quoted: true }],
    ["a property of something named token", { key: "token.indent", value: "indent", quoted: true }],
    ["an environment reference", { value: "${DB_PASSWORD}" }],
    ["a shell variable", { value: "$DB_PASSWORD" }],
    ["a template", { value: "{{ password }}", quoted: true }],
    ["a placeholder", { value: "<password>" }],
    ["a number", { value: "12345678" }],
    ["a version", { value: "^13.1.0", quoted: true }],
    ["a method call", { key: "token", separator: " = ", value: "token.substring(0", after: ", " }],
    ["optional chaining", { key: "input_tokens", value: "u?.input_tokens", after: " ??" }],
    ["a comparison", { key: "token", value: "==undefined" }],
    ["a member path", { key: "password", separator: " = ", value: "options.password", after: ";" }],
    [
      "a member path with digits before code",
      { key: "Credentials", value: "credentials_1.Credentials", after: ";" },
    ],
    ["a camelCase variable", { key: "apiKey", separator: " = ", value: "accessToken", after: ";" }],
    ["a CONSTANT", { key: "secret", value: "SECRET_NAME" }],
    ["a PascalCase type", { key: "password", separator: ": ", value: "PasswordHash", after: ";" }],
    [
      "a lowercase variable before a semicolon",
      { key: "_authState", separator: " = ", value: "inherited", after: ";" },
    ],
    ["an assignment in code", { key: "token", separator: " = ", value: "element", after: "" }],
    ["a word in prose", { key: "credential", separator: ": ", value: "polling", after: " alw" }],
    ["a header value", { key: "X-Atlassian-Token", separator: ": ", value: "no-check", after: "" }],
    ["a quoted sentence", { key: "UnexpectedToken", value: "Illegal", quoted: true, after: " exp" }],
    [
      "a sigil before a name",
      { key: "lastSignificantToken", value: "?InterpolationInTemplate", quoted: true },
    ],
    ["a quoted dotted name", { key: "ATTR", value: "gen_ai.usage.input", quoted: true }],
    ["a quoted path", { key: "token", value: "/v1/oauth/token", quoted: true }],
    ["a quoted URL without credentials", { key: "token", value: "https://example.com/t", quoted: true }],
    ["a type keyword", { key: "token", separator: ": ", value: "string", after: ";" }],
    ["a keyword with a trailing colon", { key: "password", value: "undefined:" }],
    ["a non-null assertion", { key: "refreshToken", separator: ": ", value: "refreshToken!", after: "," }],
    [
      "an identifier with digits before a semicolon",
      { key: "token", separator: " = ", value: "abc123def", after: ";" },
    ],
    // The documented trade-off: one plain lowercase word after "key: " reads as prose or a header.
    [
      "a plain-word YAML password (a known miss)",
      { key: "password", separator: ": ", value: "swordfish", after: "\n" },
    ],
  ])("%s", (_, over) => {
    expect(isSecretValue(pair(over))).toBe(false);
  });

  it.each([
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
  ])("takes %s for a word of code, not a secret", (word) => {
    expect(isSecretValue(pair({ value: word, quoted: true, after: '"' }))).toBe(false);
  });

  it("compares those words whatever their case, and still takes a plain quoted word for a secret", () => {
    expect(isSecretValue(pair({ value: "NULL", quoted: true, after: '"' }))).toBe(false);
    expect(isSecretValue(pair({ value: "installation", quoted: true, after: '"' }))).toBe(true);
  });
});

describe("luhnValid", () => {
  it.each([
    ["4111111111111111", true],
    ["4111 1111 1111 1111", true],
    ["4111-1111-1111-1111", true],
    ["4007000000027", true],
    ["6250000000000000005", true],
    ["4111111111111112", false],
    ["411111111111", false],
    ["41111111111111111111", false],
    ["5555555555554444", true],
    ["5555555555554440", false],
    ["378282246310005", true],
  ])("%s → %s", (number, valid) => {
    expect(luhnValid(number)).toBe(valid);
  });
});

describe("the patterns", () => {
  const kindOf = (text: string) =>
    PATTERNS.filter(([, re]) => {
      re.lastIndex = 0;
      const hit = re.test(text);
      re.lastIndex = 0;
      return hit;
    }).map(([kind]) => kind);

  it.each([
    ["private-key", ["-----BEGIN EC PRIVATE", " KEY-----\nabc\n-----END EC PRIVATE", " KEY-----"].join("")],
    ["private-key", ["-----BEGIN OPENSSH PRIVATE", " KEY-----\nunterminated"].join("")],
    ["anthropic-key", `x ${["sk-ant-", "api03-", "a".repeat(20)].join("")} y`],
    ["api-key", `x ${["sk-", "proj-", "b".repeat(20)].join("")} y`],
    ["github-token", ["ghr_", "c".repeat(36)].join("")],
    ["github-token", ["github_pat_", "d".repeat(22)].join("")],
    ["bearer-token", "Authorization: Bearer abc.def-ghi_jkl~mno+pq/r=="],
    ["connection-string", "amqp://guest:pa55word@rabbit:5672/vhost"],
    ["gcp-api-key", ["AIza", "e".repeat(35)].join("")],
    ["email", "ops+alerts@sub.acme.example"],
    ["card-number", "2221 0000 0000 0009"],
  ])("%s catches %j", (kind, text) => {
    expect(kindOf(text)).toContain(kind);
  });

  it.each([
    ["bearer-token", "Bearer authentication is required here"],
    ["github-token", ["ghp_", "c".repeat(35)].join("")],
    ["api-key", ["sk-", "b".repeat(19)].join("")],
    ["gcp-api-key", ["AIza", "e".repeat(34)].join("")],
    ["email", "logo-on-dark@2x.png"],
    ["email", "bundle@1.5x-webp.js"],
    ["email", "main@host.json"],
    ["card-number", "1764441281123456"],
    ["card-number", "8161951532971035"],
    ["connection-string", "https://example.com/path"],
  ])("%s leaves %j alone", (kind, text) => {
    expect(kindOf(text)).not.toContain(kind);
  });

  it.each(["${PASS}", "{{ pass }}", "<password>", "****", "xxx", "password", "PASS", "secret", "REDACTED"])(
    "takes %s for a placeholder password",
    (value) => {
      expect(PLACEHOLDER_PASSWORD.test(value)).toBe(true);
    },
  );

  it.each(["hunter2", "p4ss", "xx1", "secrets"])("takes %s for a real one", (value) => {
    expect(PLACEHOLDER_PASSWORD.test(value)).toBe(false);
  });
});

describe("isSecretValue: each rule at its edge", () => {
  it.each<[string, Partial<KeyValue>, boolean]>([
    ["a masked identifier inside a value", { value: "ab\uE0000\uE001cd9" }, false],
    ["a describing key with a trailing separator", { key: "token_name-", value: "abc123def" }, false],
    ["the last segment of a three-part key", { key: "app.db.password", value: "hunter22x" }, true],
    ["a $ inside a value is not a placeholder", { key: "password", value: "pa$$w0rd" }, true],
    ["a code word followed by several punctuation marks", { key: "password", value: "none.." }, false],
    [
      "words after a digit are not a wordy header value",
      { key: "password", separator: ": ", value: "9x-no-check" },
      true,
    ],
    [
      "a quote followed by more text is not a sentence",
      { value: "Pa55-w0rd", quoted: true, after: '" ab' },
      true,
    ],
    ["a sigil in the middle of a quoted value", { value: "abc#def", quoted: true, after: '"' }, true],
    ["a quoted snake_case name", { value: "refresh_token", quoted: true, after: '"' }, false],
    ["a quoted kebab-case name", { value: "user-to-server", quoted: true, after: '"' }, false],
    ["a quoted camelCase name", { value: "installationToken", quoted: true, after: '"' }, false],
    ["a slash inside a quoted value", { value: "ab12/cd34", quoted: true, after: '"' }, true],
    ["a URL after other text", { value: "t0k3n-https://x", quoted: true, after: '"' }, true],
    ["a URL holding credentials", { value: "https://u1:p2@host", quoted: true, after: '"' }, true],
    ["an http callback URL", { value: "http://example.com/cb", quoted: true, after: '"' }, false],
    ["punctuation later in what follows", { key: "password", value: "swordfish", after: " a;b" }, true],
    ["a value that only ends in a member path", { key: "password", value: "-opts.token" }, true],
    ["a member path followed by more", { key: "password", value: "opts.tok-en" }, true],
    ["a three-part member path", { key: "password", value: "self.config.password", after: "" }, false],
    ["a two-part member path ending the line", { key: "password", value: "options.token", after: "" }, false],
    ["a bare word followed by more", { key: "password", value: "myVar-x" }, true],
    ["a bare word after a dash", { key: "password", value: "-myVar" }, true],
    ["a camelCase variable", { key: "password", value: "myVar" }, false],
    ["a capitalised word is a literal", { key: "password", value: "Swordfish" }, true],
    ["a CONSTANT", { key: "password", value: "SWORDFISH" }, false],
    ["an assignment with two spaces", { key: "token", separator: "  = ", value: "element" }, false],
    [
      "a capitalised word in prose after key: word",
      { key: "credential", separator: ": ", value: "Polling", after: " alw" },
      false,
    ],
    [
      "prose after two spaces",
      { key: "credential", separator: ": ", value: "Polling", after: "  al" },
      false,
    ],
    ["a word then a digit", { key: "credential", separator: ": ", value: "Polling", after: " 1x" }, true],
    [
      "a word with text further on",
      { key: "credential", separator: ": ", value: "Polling", after: "x ab" },
      true,
    ],
    [
      "a word after = is not prose",
      { key: "credential", separator: "=", value: "Polling", after: " alw" },
      true,
    ],
    ["a fetch credentials mode", { key: "credentials", value: "same-origin", after: "" }, false],
    ["key api_key", { key: "api_key", value: "abcd1234efgh" }, true],
    ["key access_key", { key: "access_key", value: "abcd1234efgh" }, true],
    ["key accesskey", { key: "accesskey", value: "abcd1234efgh" }, true],
    ["key private_key", { key: "private_key", value: "abcd1234efgh" }, true],
    ["key privatekey", { key: "privatekey", value: "abcd1234efgh" }, true],
    ["key sessionid", { key: "sessionid", value: "abcd1234efgh" }, true],
  ])("%s", (_, over, expected) => {
    expect(isSecretValue(pair(over))).toBe(expected);
  });

  it("counts card lengths from 13 to 19 digits only", () => {
    expect(luhnValid("411111111117")).toBe(false); // 12 digits, Luhn-valid
    expect(luhnValid("41111111111111111115")).toBe(false); // 20 digits, Luhn-valid
    expect(luhnValid("4007000000027")).toBe(true);
    expect(luhnValid("6250000000000000005")).toBe(true);
  });
});

describe("the patterns at their edges", () => {
  const kindsIn = (text: string) =>
    PATTERNS.filter(([, pattern]) => {
      pattern.lastIndex = 0;
      return pattern.test(text);
    }).map(([kind]) => kind);

  it.each([
    ["api_key=Zq8mW3rT5yU1", "secret"],
    ["accesskey=Zq8mW3rT5yU1", "secret"],
    ["access_key=Zq8mW3rT5yU1", "secret"],
    ["auth=Zq8mW3rT5yU1", "secret"],
    ["privatekey=Zq8mW3rT5yU1", "secret"],
    ["private_key=Zq8mW3rT5yU1", "secret"],
    ["sessionid=Zq8mW3rT5yU1", "secret"],
    ["session_id=Zq8mW3rT5yU1", "secret"],
    ["password_prod=Zq8mW3rT5yU1", "secret"],
    [["sk", "-", "a".repeat(24), "B1c2"].join(""), "api-key"],
    ["Authorization: Bearer  abcdefghijklmnop1234", "bearer-token"],
    ["to dana@mail.acme-corp.example ok", "email"],
  ])("finds %s as %s", (text, kind) => {
    expect(kindsIn(text)).toContain(kind);
  });

  it.each([
    "Bearer authenticationisrequired",
    "sprite@2x.cdn.net",
    "sprite@12x.cdn.net",
    "sprite@1.25x.cdn.net",
    "avatar@cdn.jpg",
    "page@site.htm",
  ])("finds nothing in %s", (text) => {
    expect(kindsIn(text)).toEqual([]);
  });

  it("takes the whole of a dotted email domain, and stops a key block at its END line", () => {
    const email = PATTERNS.find(([kind]) => kind === "email")?.[1];
    expect("to dana@mail.acme-corp.example ok".match(email ?? /x/g)).toEqual(["dana@mail.acme-corp.example"]);
    const key = PATTERNS.find(([kind]) => kind === "private-key")?.[1];
    const block = ["-----BEGIN RSA PRIVATE", " KEY-----\nMIIE\n-----END RSA PRIVATE", " KEY-----"].join("");
    expect(`${block}\nafter`.match(key ?? /x/g)).toEqual([block]);
    const ec = block.replace(/RSA/g, "EC");
    expect(`${ec}\nafter`.match(key ?? /x/g)).toEqual([ec]);
  });
});
