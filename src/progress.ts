/** Progress on stderr: stdout stays clean for --json. */
export interface Progress {
  info(message: string): void;
  detail(message: string): void;
  warn(message: string): void;
}

export function createProgress(options: { quiet: boolean; verbose: boolean }, write = writeStderr): Progress {
  return {
    info: (message) => {
      if (!options.quiet) write(`triage: ${message}`);
    },
    detail: (message) => {
      if (options.verbose) write(`triage: ${message}`);
    },
    warn: (message) => write(`triage: warning: ${message}`),
  };
}

function writeStderr(line: string): void {
  process.stderr.write(`${line}\n`);
}
