import { type Evidence, emptyEvidence } from "../../src/evidence/gather.ts";

/** Evidence with nothing in it, for tests that fill in only what they exercise. */
export function evidence(overrides: Partial<Evidence> = {}): Evidence {
  return { ...emptyEvidence(), ...overrides };
}
