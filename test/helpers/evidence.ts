import type { Evidence } from "../../src/evidence/gather.ts";

/** Evidence with nothing in it, for tests that fill in only what they exercise. */
export function evidence(overrides: Partial<Evidence> = {}): Evidence {
  return {
    repository: null,
    repositorySource: null,
    commit: null,
    files: [],
    diffUnavailable: null,
    diffNotes: [],
    diffForAnalysis: null,
    suspects: [],
    pullRequest: null,
    workItem: null,
    problems: [],
    ...overrides,
  };
}
