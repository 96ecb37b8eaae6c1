import { describe, expect, it } from "vitest";
import { leaks } from "../../bench/redaction.ts";
import { Redactor, redactGroup } from "../../src/evidence/redact.ts";
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

describe("Redactor batches secretlint and masks exactly", () => {
  // Slack tokens are found by secretlint's rules only, so these exercise the batch arithmetic.
  const slack = (n: number) =>
    ["xoxb", `12345678901${n}`, `123456789012${n}`, `AbCdEfGhIjKlMnOpQrStUvW${n}`].join("-");

  it("cuts each secretlint finding back to its own text, two in one text included, across batches", async () => {
    const big = "x".repeat(150 * 1024);
    const texts = [
      `first ${slack(1)}`,
      "",
      "plain",
      `${slack(2)} then ${slack(3)} end`,
      `${big} ${slack(4)}`,
      `${big} ${slack(5)} tail`,
      `last ${slack(6)}`,
    ];
    const redactor = new Redactor();
    const out = await redactor.redactAll(texts);
    expect(out).toEqual([
      "first [REDACTED:slack]",
      "",
      "plain",
      "[REDACTED:slack] then [REDACTED:slack] end",
      `${big} [REDACTED:slack]`,
      `${big} [REDACTED:slack] tail`,
      "last [REDACTED:slack]",
    ]);
    expect(redactor.stats.byKind.slack).toBe(6);
  });

  it("never assembles a secret from the end of one text and the start of the next", async () => {
    const token = slack(7);
    const cut = 10;
    const out = await new Redactor().redactAll([token.slice(0, cut), token.slice(cut)]);
    expect(out).toEqual([token.slice(0, cut), token.slice(cut)]);
  });

  it("still redacts when the keep list holds an empty string", async () => {
    expect(await new Redactor().redact(`x ${AWS_KEY}`, [""])).toBe("x [REDACTED:aws-key]");
  });

  it("restores the eleventh kept identifier and beyond", async () => {
    const keep = Array.from({ length: 12 }, (_, i) => `keep-${i}-4111111111111111`);
    const text = `${keep[11]} and ${keep[10]} and ${keep[1]}`;
    expect(await new Redactor().redact(text, keep)).toBe(text);
  });

  it("keeps only what is really a git index line", async () => {
    const redactor = new Redactor();
    const lines = [
      "index 4111111111111111..4000056655665556",
      "index 4111111111111111..4000056655665556 100644",
      "+x index 5555555555554444..4000056655665556",
      "index 5555555555554444..4000056655665556 100644 4000056655665556",
    ];
    expect((await redactor.redactPreservingLines(lines.join("\n"))).split("\n")).toEqual([
      lines[0],
      lines[1],
      "+x index [REDACTED:card-number]..[REDACTED:card-number]",
      "index [REDACTED:card-number]..[REDACTED:card-number] 100644 [REDACTED:card-number]",
    ]);
  });

  it("keeps a diff prefix on every line a multi-line secret covered, and none on the first", async () => {
    const text = [
      "+-----BEGIN RSA PRIVATE",
      " KEY-----\n+MIIE+abc/def\n+-----END RSA PRIVATE",
      " KEY-----",
    ].join("");
    expect(await new Redactor().redact(text)).toBe(
      "+[REDACTED:private-key]\n+[REDACTED:private-key]\n+[REDACTED:private-key]",
    );
    const plain = [
      "-----BEGIN RSA PRIVATE",
      " KEY-----\nMIIE+abc/def\n-----END RSA PRIVATE",
      " KEY-----",
    ].join("");
    expect(await new Redactor().redact(`a ${plain}`)).toBe(
      "a [REDACTED:private-key]\n[REDACTED:private-key]\n[REDACTED:private-key]",
    );
  });

  it("blanks a block's body line without taking a + or - inside it for a diff prefix", async () => {
    const text = [
      "-----BEGIN RSA PRIVATE",
      " KEY-----\nMIIE+abc-def\n-----END RSA PRIVATE",
      " KEY-----",
    ].join("");
    expect((await new Redactor().redactPreservingLines(text)).split("\n")).toEqual([
      "[REDACTED:private-key]",
      "[REDACTED:private-key]",
      "[REDACTED:private-key]",
    ]);
  });

  it("leaves a 16-digit run that fails Luhn alone", async () => {
    expect(await new Redactor().redact("ref 4111111111111112 ok")).toBe("ref 4111111111111112 ok");
  });

  it("walks nulls, numbers and byte arrays in deep values without touching them", async () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const out = await new Redactor().redactDeep({ a: null, n: 3, b: bytes, s: [`k ${AWS_KEY}`, true] });
    expect(out).toEqual({ a: null, n: 3, b: bytes, s: ["k [REDACTED:aws-key]", true] });
    expect(out.b).toBe(bytes);
  });
});

describe("redactGroup", () => {
  it("redacts the title, slug, message, every sample's text and attributes, and keeps the rest", async () => {
    const group = {
      title: `TypeError with ${AWS_KEY}`,
      slug: "TypeError.f.1",
      count: 3,
      grouping: { message: `bad ${GITHUB}`, version: 1 },
      samples: [
        {
          name: "GET /x",
          message: `user dana@acme.example`,
          stacktrace: `at f (${JWT})`,
          traceId: "t1",
          attributes: { "http.url": "https://admin:hunter2secret@x.example/", n: 1 },
        },
        { name: "GET /y", message: "fine", stacktrace: "", traceId: "t2", attributes: {} },
      ],
    };
    const out = await redactGroup(group, new Redactor());
    expect(out).toEqual({
      title: "TypeError with [REDACTED:aws-key]",
      slug: "TypeError.f.1",
      count: 3,
      grouping: { message: "bad [REDACTED:github-token]", version: 1 },
      samples: [
        {
          name: "GET /x",
          message: "user [REDACTED:email]",
          stacktrace: "at f ([REDACTED:jwt])",
          traceId: "t1",
          attributes: { "http.url": "[REDACTED:connection-string]", n: 1 },
        },
        { name: "GET /y", message: "fine", stacktrace: "", traceId: "t2", attributes: {} },
      ],
    });
  });
});
