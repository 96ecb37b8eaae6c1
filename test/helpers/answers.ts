/** What a model answers for a group with no code cause: the structured-output fields, filled in. */
export function modelAnswer(overrides: Record<string, unknown> = {}) {
  return {
    summary: "s",
    rootCause: "r",
    confidence: 0.5,
    category: "unknown",
    suspect: null,
    violatedCriteria: [],
    evidence: [],
    investigationSteps: [],
    fix: null,
    ...overrides,
  };
}
