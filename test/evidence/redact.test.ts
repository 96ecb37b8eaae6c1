import { describe, expect, it } from "vitest";
import { Redactor } from "../../src/evidence/redact.ts";

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
