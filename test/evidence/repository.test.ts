import { describe, expect, it } from "vitest";
import { githubWebHost, parseRepositoryUrl, resolveRepository } from "../../src/evidence/repository.ts";

const settings = {
  services: { "billing-service": { repo: "acme/billing" } },
  defaultRepository: "acme/monorepo",
  githubHost: "github.com",
};

describe("resolveRepository", () => {
  it("uses triage.config.json first, then the span's repository URL, then GITHUB_REPOSITORY", () => {
    expect(
      resolveRepository(
        { service: "billing-service", repositoryUrl: "https://github.com/acme/other" },
        settings,
      ),
    ).toEqual({
      repo: { owner: "acme", repo: "billing" },
      source: "config",
    });
    expect(
      resolveRepository({ service: "ledger", repositoryUrl: "git@github.com:acme/ledger.git" }, settings),
    ).toEqual({
      repo: { owner: "acme", repo: "ledger" },
      source: "span",
    });
    expect(resolveRepository({ service: "ledger", repositoryUrl: null }, settings)).toEqual({
      repo: { owner: "acme", repo: "monorepo" },
      source: "env",
    });
  });

  it("ignores repository URLs on hosts other than the configured GitHub", () => {
    expect(
      resolveRepository(
        { service: "x", repositoryUrl: "https://evil.example/acme/x" },
        { ...settings, defaultRepository: null },
      ),
    ).toEqual({
      repo: null,
      reason: 'no repository for service x: map it in triage.config.json "services" or set GITHUB_REPOSITORY',
    });
  });

  it("parses https, ssh and scp-like URLs, with or without .git", () => {
    for (const url of [
      "https://github.com/acme/a",
      "https://github.com/acme/a.git",
      "ssh://git@github.com/acme/a.git",
      "git@github.com:acme/a.git",
    ]) {
      expect(parseRepositoryUrl(url, "github.com"), url).toEqual({ owner: "acme", repo: "a" });
    }
    expect(parseRepositoryUrl("https://github.com/acme", "github.com")).toBeNull();
  });

  it("derives the web host from the API URL, for github.com and GitHub Enterprise", () => {
    expect(githubWebHost("https://api.github.com")).toBe("github.com");
    expect(githubWebHost("https://ghe.acme.example/api/v3")).toBe("ghe.acme.example");
  });
});
