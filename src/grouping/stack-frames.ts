export interface StackFrame {
  function: string;
  /** Path as written in the trace, with URL schemes and query strings removed. */
  file: string;
  line: number | null;
  column: number | null;
  inApp: boolean;
}

// Library and runtime code: never the first in-app frame, never a suspect.
const NOT_IN_APP = [
  /(^|\/)node_modules\//,
  /^node:/,
  /^internal\//,
  /(^|\/)(site|dist)-packages\//,
  /^\/usr\/(local\/)?lib\//,
  /^<[^>]+>$/,
  /(^|\/)vendor\//,
  /\/go\/pkg\/mod\//,
  /^\/usr\/local\/go\/src\//,
];
const NOT_IN_APP_JAVA = /^(java|javax|jdk|sun|kotlin|scala|org\.springframework|io\.netty)\./;

const V8_WITH_FUNCTION = /^\s*at (?:async )?(.+?) \((.+?)(?::(\d+))?(?::(\d+))?\)\s*$/;
const V8_BARE = /^\s*at (?:async )?([^\s()]+?)(?::(\d+))?(?::(\d+))?\s*$/;
const PYTHON = /^\s*File "(.+)", line (\d+), in (.+)$/;
const JAVA = /^\s*at ([\w$.<>]+)\.([\w$<>]+)\(([^:()]+)(?::(\d+))?\)\s*$/;
const GO_FILE = /^\s+(\/?[^\s]+\.go):(\d+)(?: \+0x[0-9a-f]+)?$/;

/** Parses JavaScript (V8), Python, Java and Go stack traces; frames come innermost first. */
export function parseStackTrace(stacktrace: string): StackFrame[] {
  // Real frames are short; a frame line longer than this is data, not a frame, and never reaches a regex.
  const lines = stacktrace
    .slice(0, 200_000)
    .split(/\r?\n/, 500)
    .map((line) => (line.length > 1_000 ? "" : line));
  const frames: StackFrame[] = [];
  let python = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    let m = V8_WITH_FUNCTION.exec(line);
    if (m) {
      frames.push(frame(m[1] ?? "", m[2] ?? "", m[3], m[4]));
      continue;
    }
    m = JAVA.exec(line);
    if (m) {
      const fn = `${m[1]}.${m[2]}`;
      frames.push({
        ...frame(fn, javaSourcePath(m[1] ?? "", m[3] ?? ""), m[4], undefined),
        inApp: !NOT_IN_APP_JAVA.test(fn),
      });
      continue;
    }
    m = V8_BARE.exec(line);
    if (m) {
      frames.push(frame("<anonymous>", m[1] ?? "", m[2], m[3]));
      continue;
    }
    m = PYTHON.exec(line);
    if (m) {
      python = true;
      frames.push(frame(m[3] ?? "", m[1] ?? "", m[2], undefined));
      continue;
    }
    m = GO_FILE.exec(line);
    if (m) {
      const fnLine = (lines[i - 1] ?? "").trim().replace(/\(.*\)$/, "");
      frames.push(frame(fnLine, m[1] ?? "", m[2], undefined));
    }
  }
  // Python prints the innermost frame last.
  return python ? frames.reverse() : frames;
}

function frame(
  fn: string,
  rawFile: string,
  line: string | undefined,
  column: string | undefined,
): StackFrame {
  const file = cleanPath(rawFile);
  return {
    function: fn.trim(),
    file,
    line: line ? Number(line) : null,
    column: column ? Number(column) : null,
    inApp: file !== "" && !NOT_IN_APP.some((re) => re.test(file)),
  };
}

/** Java frames name only the file; the package gives its directory (com.acme.Foo → com/acme/Foo.java). */
function javaSourcePath(className: string, file: string): string {
  const packageDirs = className
    .split(".")
    .slice(0, -1)
    .filter((p) => /^[a-z_][\w]*$/.test(p));
  return packageDirs.length > 0 ? `${packageDirs.join("/")}/${file}` : file;
}

function cleanPath(raw: string): string {
  let path = raw.trim().replace(/\\/g, "/");
  path = path.replace(/^file:\/\//, "").replace(/^webpack:\/\/[^/]*\//, "");
  return path.replace(/[?#].*$/, "");
}

export function firstInAppFrame(frames: readonly StackFrame[]): StackFrame | undefined {
  return frames.find((f) => f.inApp);
}

/**
 * A frame's identity for grouping: function plus the last two path segments, no line numbers,
 * so a deploy that shifts lines or moves the checkout directory keeps the group.
 */
export function frameKey(frame: StackFrame): string {
  const tail = frame.file.split("/").filter(Boolean).slice(-2).join("/");
  return `${frame.function || "<anonymous>"}@${tail}`;
}
