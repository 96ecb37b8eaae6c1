import { describe, expect, it } from "vitest";
import { leaks } from "../../bench/redaction.ts";
import { Redactor } from "../../src/evidence/redact.ts";
import { CANARY, secretCorpus } from "../helpers/secrets.ts";

// Test values are assembled at run time so the repository itself holds no secret-shaped strings.
const AWS_KEY = ["AKIA", "Z7Q4M2X9B3C8D1E6"].join("");
const GITHUB = ["ghp", "_", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"].join("");
const JWT = [
  "eyJhbGciOiJIUzI1NiJ9",
  "eyJzdWIiOiIxMjM0NTY3ODkwIn0",
  "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
].join(".");
const SLACK = ["xoxb", "123456789012", "1234567890123", "AbCdEfGhIjKlMnOpQrStUvWx"].join("-");
const KEY_BLOCK = [
  "-----BEGIN RSA PRIVATE",
  " KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE",
  " KEY-----",
].join("");

describe("Redactor", () => {
  it.each([
    ["aws-key", `using ${AWS_KEY} for s3`],
    ["github-token", `token ${GITHUB}`],
    ["jwt", `cookie ${JWT}`],
    ["bearer-token", "Authorization: Bearer abcdefghijklmnop1234567890"],
    ["private-key", `key:\n${KEY_BLOCK}\nafter`],
    ["email", "user dana@acme.example failed"],
    ["card-number", "card 4111 1111 1111 1111 declined"],
    ["connection-string", "dial postgres://admin:hunter2secret@db.internal:5432/app"],
    ["slack", `posting with ${SLACK}`],
    ["secret", "config password=correct-horse-battery"],
  ])("replaces a %s with a typed placeholder and counts it", async (kind, text) => {
    const redactor = new Redactor();
    const out = await redactor.redact(text);
    expect(out).toContain(`[REDACTED:${kind}]`);
    expect(redactor.stats.byKind[kind]).toBeGreaterThanOrEqual(1);
    expect(redactor.stats.total).toBeGreaterThanOrEqual(1);
  });

  it("removes the secret itself, not only marks it", async () => {
    const redactor = new Redactor();
    const out = await redactor.redact(`a ${AWS_KEY} b ${GITHUB} c ${JWT} d`);
    for (const secret of [AWS_KEY, GITHUB, JWT]) expect(out).not.toContain(secret);
    expect(out.startsWith("a [REDACTED:aws-key] b ")).toBe(true);
  });

  it("keeps the key of a key=value secret so the text still reads", async () => {
    expect(await new Redactor().redact('db_password: "s3cr3t-value"')).toBe(
      'db_password: "[REDACTED:secret]"',
    );
  });

  it("leaves ordinary text, ids, timestamps and non-Luhn digit runs alone", async () => {
    const text = "invoice inv_8f3a2c91 at 2026-11-20T06:21:26Z, order 1234567890123 took 3813ms";
    const redactor = new Redactor();
    expect(await redactor.redact(text)).toBe(text);
    expect(redactor.stats.total).toBe(0);
  });

  it("redacts every string inside nested values, keys included", async () => {
    const redactor = new Redactor();
    const out = await redactor.redactDeep({
      a: [`x ${AWS_KEY}`],
      "dana@acme.example": { n: 1, s: `t ${GITHUB}` },
    });
    expect(JSON.stringify(out)).not.toMatch(/AKIA|ghp_|dana@/);
    expect((out as { a: string[] }).a[0]).toBe("x [REDACTED:aws-key]");
    expect(redactor.stats.total).toBe(3);
  });
});

describe("Redactor keeps code and identifiers intact", () => {
  const diff = [
    "diff --git a/src/Auth.java b/src/Auth.java",
    "index 8161951532971035..4111111111111111 100644",
    "--- a/src/Auth.java",
    "+++ b/src/Auth.java",
    "@@ -10,6 +10,9 @@ class Auth {",
    "-    String token = token.substring(0, pos);",
    "+    String token = header.substring(0, pos);",
    "+    const password = options.password ?? readEnv('DB_PASSWORD');",
    "+    apiKey = accessToken;",
    "+    this._authState = inherited;",
    "+    input_tokens: u?.input_tokens ?? 0,",
    "+    const credential: Credential = load();",
    "+    if (token === undefined) throw new Error('no token');",
    "+    export const TOKEN_ENDPOINT = '/v1/oauth/token';",
    "+    tokenType: 'installation',",
    "+    '--header X-Atlassian-Token: no-check'",
    "+    const started = 1764441281123456789; // ns epoch",
    '+  UnexpectedTokenUnaryExponentiation: "Illegal expression. Wrap left hand side in parentheses.",',
    '+        lastSignificantToken = "?InterpolationInTemplate";',
  ].join("\n");

  it("leaves every line of real code as it was, and a git index line of digits", async () => {
    const redactor = new Redactor();
    expect(await redactor.redactPreservingLines(diff)).toBe(diff);
    expect(redactor.stats.total).toBe(0);
  });

  it("still redacts a literal secret on the same kind of line", async () => {
    const redactor = new Redactor();
    const out = await redactor.redactPreservingLines(
      `${diff}\n+    const password = "Pa55-${"w0rd"}-prod";\n+    DB_PASSWORD=s3cr3t-${"value"}`,
    );
    expect(out).toContain('const password = "[REDACTED:secret]"');
    expect(out).toContain("DB_PASSWORD=[REDACTED:secret]");
    expect(out.split("\n")).toHaveLength(diff.split("\n").length + 2);
  });

  it("never redacts an identifier it is told to keep, even a Luhn-valid one that looks like a card", async () => {
    const fingerprint = "4111111111111111";
    const text = `<!-- tracefix:fingerprint=${fingerprint} --> branch triage/${fingerprint}; card 4000 0566 5566 5556`;
    const redactor = new Redactor();
    const out = await redactor.redact(text, [fingerprint]);
    expect(out).toContain(`<!-- tracefix:fingerprint=${fingerprint} -->`);
    expect(out).toContain(`triage/${fingerprint}`);
    expect(out).toContain("card [REDACTED:card-number]");
    expect(redactor.stats.total).toBe(1);
    // Without the keep list the same fingerprint would be taken for a card: the list is what saves it.
    expect(await new Redactor().redact(text)).not.toContain(`fingerprint=${fingerprint}`);
  });

  it("ignores mask characters smuggled in through telemetry", async () => {
    const out = await new Redactor().redact(`\uE0000\uE001 ${CANARY.awsKey}`, ["keep-me"]);
    // Unstripped, the smuggled mask would have been restored as the kept identifier.
    expect(out).toBe("0 [REDACTED:aws-key]");
  });

  it("does not take timestamps, 7–9-prefixed ids or retina asset names for cards or emails", async () => {
    const text = "at 1764441281123 id 8161951532971035 logo src=logo-on-light@3x.png";
    expect(await new Redactor().redact(text)).toBe(text);
  });

  it("catches every secret in the corpus, in every context it is planted in", async () => {
    const redactor = new Redactor();
    const missed: string[] = [];
    for (const { kind, secret, contexts } of secretCorpus()) {
      for (const text of contexts)
        if (leaks(await redactor.redact(text), secret)) missed.push(`${kind}: ${text}`);
    }
    expect(missed).toEqual([]);
  });

  it("redacts a batch of many strings in one pass with each answer in its own place", async () => {
    const texts = Array.from({ length: 300 }, (_, i) =>
      i % 50 === 0 ? `k${i} ${CANARY.githubToken}` : `plain ${i}`,
    );
    const out = await new Redactor().redactAll(texts);
    expect(out).toHaveLength(300);
    out.forEach((text, i) => {
      expect(text).toBe(i % 50 === 0 ? `k${i} [REDACTED:github-token]` : `plain ${i}`);
    });
  });
});

describe("Redactor blanks key blocks in diffs line by line", () => {
  const block = (prefix: string) =>
    [
      `${prefix}${["-----BEGIN RSA PRIVATE", " KEY-----"].join("")}`,
      `${prefix}MIIEowIBAAKCAQEA7canarybody`,
      `${prefix}${["-----END RSA PRIVATE", " KEY-----"].join("")}`,
    ].join("\n");

  it("keeps each line's +, - or space prefix and the line count, counting the block once", async () => {
    const diff = ["@@ -1,3 +1,6 @@", " const a = 1;", block("+"), " const b = 2;", "-const c = 3;"].join(
      "\n",
    );
    const redactor = new Redactor();
    const out = await redactor.redactPreservingLines(diff);
    expect(out.split("\n")).toEqual([
      "@@ -1,3 +1,6 @@",
      " const a = 1;",
      "+[REDACTED:private-key]",
      "+[REDACTED:private-key]",
      "+[REDACTED:private-key]",
      " const b = 2;",
      "-const c = 3;",
    ]);
    expect(redactor.stats.byKind["private-key"]).toBe(1);
  });

  it("blanks a block with no prefix, and stops at its END line", async () => {
    const text = [block(""), "after the block"].join("\n");
    const out = await new Redactor().redactPreservingLines(text);
    expect(out.split("\n")).toEqual([
      "[REDACTED:private-key]",
      "[REDACTED:private-key]",
      "[REDACTED:private-key]",
      "after the block",
    ]);
  });

  it("counts two blocks as two", async () => {
    const redactor = new Redactor();
    await redactor.redactPreservingLines([block("-"), " unchanged", block(" ")].join("\n"));
    expect(redactor.stats.byKind["private-key"]).toBe(2);
  });

  it("reports each finding to a listener, with the value it removed", async () => {
    const seen: Array<[string, string]> = [];
    await new Redactor({ onFinding: (kind, value) => seen.push([kind, value]) }).redact(
      `id ${CANARY.awsKey}`,
    );
    expect(seen).toEqual([["aws-key", CANARY.awsKey]]);
  });

  it("redacts a key-less placeholder-free connection string but keeps a templated one", async () => {
    const out = await new Redactor().redact(
      "a postgres://app:Xy7-secret@db/x b mongodb://${USER}:${PASS}@db/x",
    );
    expect(out).toBe("a [REDACTED:connection-string] b mongodb://${USER}:${PASS}@db/x");
  });
});
