#!/usr/bin/env node
// The installed entry point. Plain JavaScript that any Node can parse, so an older Node gets one
// line saying what to do instead of a stack trace from a dependency that needs Node 24.
const REQUIRED_MAJOR = 24;
const major = Number(process.versions.node.split(".")[0]);
if (!(major >= REQUIRED_MAJOR)) {
  process.stderr.write(
    `triage: Node ${REQUIRED_MAJOR} or newer is required (this is Node ${process.versions.node}). ` +
      "Run it through the project's own Node with `npx triage` or `npm run`, or install Node 24.\n",
  );
  process.exit(2);
}
const { main } = await import("../dist/cli.js");
process.exitCode = await main(process.argv.slice(2));
