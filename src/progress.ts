/** Progress on stderr: stdout stays clean for --json. */
export interface Progress {
  info(message: string): void;
  detail(message: string): void;
  warn(message: string): void;
  /** "N of M groups": one updating line on a terminal, one line per group in CI logs. */
  group(done: number, total: number, message: string): void;
}

export interface ProgressOptions {
  quiet: boolean;
  verbose: boolean;
  /** stderr is a terminal: rewrite the group line in place instead of adding lines. */
  tty: boolean;
}

export function createProgress(
  options: ProgressOptions,
  write: (chunk: string) => void = writeStderr,
): Progress {
  let lineOpen = false;
  const line = (text: string) => {
    write(`${lineOpen ? "\n" : ""}triage: ${text}\n`);
    lineOpen = false;
  };
  return {
    info: (message) => {
      if (!options.quiet) line(message);
    },
    detail: (message) => {
      if (options.verbose && !options.quiet) line(message);
    },
    warn: (message) => line(`warning: ${message}`),
    group: (done, total, message) => {
      if (options.quiet) return;
      if (!options.tty) {
        line(`[${done}/${total}] ${message}`);
        return;
      }
      write(`\r\u001b[Ktriage: [${done}/${total}] ${message}`);
      lineOpen = done < total;
      if (!lineOpen) write("\n");
    },
  };
}

function writeStderr(chunk: string): void {
  process.stderr.write(chunk);
}
