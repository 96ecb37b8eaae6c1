import { defineConfig } from "vitest/config";

/**
 * The in-process tests of the safety modules, for `npm run test:mutation`: the redactor, the gate,
 * write-once, the PR and ticket writes, the sink and the budget. StrykerJS sees coverage only
 * inside the test process, so the CLI tests (which spawn `triage`) are left to `npm test`.
 */
export default defineConfig({
  test: {
    include: [
      "test/evidence/redact.test.ts",
      "test/evidence/secret-patterns.test.ts",
      "test/report/redact-report.test.ts",
      "test/actions/gate.test.ts",
      "test/actions/write-once.test.ts",
      "test/actions/sink-writes.test.ts",
      "test/analysis/budget.test.ts",
    ],
    testTimeout: 30_000,
  },
});
