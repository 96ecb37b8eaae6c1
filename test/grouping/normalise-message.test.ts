import { describe, expect, it } from "vitest";
import { normaliseMessage } from "../../src/grouping/normalise-message.ts";

describe("normaliseMessage", () => {
  it.each([
    ["invoice inv_8f3a2c91 not found for tenant 42", "invoice inv_<id> not found for tenant <num>"],
    ["user 3fa85f64-5717-4562-b3fc-2c963f66afa6 locked", "user <uuid> locked"],
    ["object 9f86d081884c7d659a2feaa0c55ad015 missing", "object <hex> missing"],
    ["commit 83e0a38 broke", "commit <hex> broke"],
    ["mail to dana@acme.example bounced", "mail to <email> bounced"],
    ["GET https://api.acme.example/v1/users/12?x=1 failed", "GET <url> failed"],
    ["upstream 10.20.3.7:443 timed out after 3813ms", "upstream <ip> timed out after <num>ms"],
    ["peer 2001:db8:0:0:0:0:2:1 reset", "peer <ip> reset"],
    ["deadline 2026-11-20T06:21:26.337Z passed", "deadline <date> passed"],
    [
      "Cannot read properties of undefined (reading 'SPRING10')",
      "Cannot read properties of undefined (reading <str>)",
    ],
    ['column "email" is null', "column <str> is null"],
    ["took 1,250.5 seconds at -3 degrees", "took <num> seconds at <num> degrees"],
  ])("%s → %s", (input, expected) => {
    expect(normaliseMessage(input)).toBe(expected);
  });

  it("keeps names that merely contain digits", () => {
    expect(normaliseMessage("utf8 decoder for v2 API")).toBe("utf8 decoder for v2 API");
  });

  it("uses the first line and bounds the length", () => {
    expect(normaliseMessage("first\nsecond")).toBe("first");
    expect(normaliseMessage("x".repeat(5000))).toHaveLength(300);
  });
});
