export interface StackFrame {
  function: string;
  /** Path as written in the trace, with URL schemes and query strings removed. */
  file: string;
  line: number | null;
  column: number | null;
  inApp: boolean;
  /**
   * How far the frame's exception is from the root cause: 0 for the root cause (the last
   * `Caused by:` in Java, the first traceback of a Python chain, the only exception otherwise),
   * 1 for the exception that wrapped it, and so on. Suspects weigh root-cause frames most.
   */
  causeDepth: number;
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
// Test and build harnesses that print like application code; evidence only (see ParseOptions).
const NOT_IN_APP_JAVA_MORE =
  /^(org\.junit|junit|org\.testng|org\.apache\.tools\.ant|org\.apache\.maven|org\.gradle|org\.assertj|org\.hamcrest|org\.mockito|com\.sun|jakarta|org\.apache\.catalina|org\.apache\.tomcat|reactor\.core|kotlinx)\./;

const V8_WITH_FUNCTION = /^\s*at (?:async )?(.+?) \((.+?)(?::(\d+))?(?::(\d+))?\)\s*$/;
const V8_BARE = /^\s*at (?:async )?([^\s()]+?)(?::(\d+))?(?::(\d+))?\s*$/;
const PYTHON = /^\s*File "(.+)", line (\d+), in (.+)$/;
const JAVA = /^\s*at ([\w$.<>]+)\.([\w$<>]+)\(([^:()]+)(?::(\d+))?\)\s*$/;
const GO_FILE = /^\s+(\/?[^\s]+\.go):(\d+)(?: \+0x[0-9a-f]+)?$/;
// Java 9+ prefixes a frame with its class loader and/or module: `app//`, `java.base/`,
// `com.acme@1.2.0/`. Kotlin and Scala frames print like Java's.
const JAVA_MODULE =
  /^\s*at (?:[\w.$-]*(?:@[\w.+-]+)?\/\/?)([\w$.<>]+)\.([\w$<>]+)\(([^:()]+)(?::(\d+))?\)\s*$/;
// .NET: `   at Acme.Orders.OrderService.Price(Order order) in /src/Acme.Orders/OrderService.cs:line 42`
const DOTNET = /^\s*at (.+?)\(.*?\)(?: in (.+?):line (\d+))?\s*$/;
// Ruby: `/srv/app/app/models/order.rb:42:in 'price'` (Ruby 3.4 quotes) or `in `price'`.
const RUBY = /^\s*(?:from )?([^\s:]+\.rb):(\d+):in [`'](?:[\w:]+[#.])?([^']+)'/;

/**
 * Grouping reads the formats fingerprint v1 was built on; evidence reads every format tracefix
 * knows (Java 9+ module frames, .NET, Ruby, test harnesses as library code). Parsing more for
 * grouping would silently move groups between fingerprints, so it waits for a version bump.
 */
export interface ParseOptions {
  allFormats?: boolean;
}
// Where a chained exception starts: Java/Kotlin causes, suppressed exceptions, Python's chains.
const JAVA_CAUSE = /^\s*Caused by: /;
const JAVA_SUPPRESSED = /^\s*Suppressed: /;
const PYTHON_CHAIN =
  /^(During handling of the above exception, another exception occurred|The above exception was the direct cause of the following exception):\s*$/;
// Suppressed exceptions are side stories: their frames weigh like a distant cause.
const SUPPRESSED_DEPTH = 3;

/** Parses JavaScript (V8), Python, Java and Go stack traces; frames come innermost first. */
export function parseStackTrace(stacktrace: string, options: ParseOptions = {}): StackFrame[] {
  // Real frames are short; a frame line longer than this is data, not a frame, and never reaches a regex.
  const lines = stacktrace
    .slice(0, 200_000)
    .split(/\r?\n/, 500)
    .map((line) => (line.length > 1_000 ? "" : line));
  const frames: StackFrame[] = [];
  let python = false;
  // Which exception of the chain the next frames belong to, in printed order.
  let section = 0;
  const sectionOf: number[] = [];
  const suppressed = new Set<number>();
  let javaCauses = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (JAVA_CAUSE.test(line) || PYTHON_CHAIN.test(line.trim())) {
      javaCauses ||= JAVA_CAUSE.test(line);
      section += 1;
      continue;
    }
    if (JAVA_SUPPRESSED.test(line)) {
      section += 1;
      suppressed.add(section);
      continue;
    }
    const parsed = parseLine(lines, i) ?? (options.allFormats ? parseMoreLine(line) : null);
    if (!parsed) continue;
    if (options.allFormats && NOT_IN_APP_JAVA_MORE.test(parsed.frame.function)) parsed.frame.inApp = false;
    python ||= parsed.python;
    frames.push(parsed.frame);
    sectionOf.push(section);
  }
  // Java prints the root cause last; Python's chain prints it first.
  const causes = [...new Set(sectionOf)].filter((s) => !suppressed.has(s)).sort((x, y) => x - y);
  const rank = (s: number) => causes.indexOf(s);
  const root = javaCauses ? causes.length - 1 : 0;
  frames.forEach((f, n) => {
    const s = sectionOf[n] ?? 0;
    f.causeDepth = suppressed.has(s) ? SUPPRESSED_DEPTH : Math.abs(root - rank(s));
  });
  // Python prints the innermost frame last.
  return python ? frames.reverse() : frames;
}

/** The formats only evidence reads (see ParseOptions). */
function parseMoreLine(line: string): { frame: StackFrame; python: boolean } | null {
  let m = JAVA_MODULE.exec(line);
  if (m) {
    const fn = `${m[1]}.${m[2]}`;
    const inApp = !NOT_IN_APP_JAVA.test(fn) && !NOT_IN_APP_JAVA_MORE.test(fn);
    return {
      frame: { ...frame(fn, javaSourcePath(m[1] ?? "", m[3] ?? ""), m[4], undefined), inApp },
      python: false,
    };
  }
  m = RUBY.exec(line);
  if (m) {
    const ruby = frame(m[3] ?? "", m[1] ?? "", m[2], undefined);
    // Installed gems and the Ruby standard library are library code.
    return {
      frame: { ...ruby, inApp: ruby.inApp && !/\/gems\/|\/lib\/ruby\//.test(ruby.file) },
      python: false,
    };
  }
  m = DOTNET.exec(line);
  if (m) {
    const fn = (m[1] ?? "").trim();
    const inApp = m[2] !== undefined && !/^(System|Microsoft)\./.test(fn);
    return { frame: { ...frame(fn, m[2] ?? "", m[3], undefined), inApp }, python: false };
  }
  return null;
}

/** One frame line of any supported runtime, or null for a line that is not a frame. */
function parseLine(lines: readonly string[], i: number): { frame: StackFrame; python: boolean } | null {
  const line = lines[i] ?? "";
  let m = V8_WITH_FUNCTION.exec(line);
  if (m) return { frame: frame(m[1] ?? "", m[2] ?? "", m[3], m[4]), python: false };
  m = JAVA.exec(line);
  if (m) {
    const fn = `${m[1]}.${m[2]}`;
    return {
      frame: {
        ...frame(fn, javaSourcePath(m[1] ?? "", m[3] ?? ""), m[4], undefined),
        inApp: !NOT_IN_APP_JAVA.test(fn),
      },
      python: false,
    };
  }
  m = V8_BARE.exec(line);
  if (m) return { frame: frame("<anonymous>", m[1] ?? "", m[2], m[3]), python: false };
  m = PYTHON.exec(line);
  if (m) return { frame: frame(m[3] ?? "", m[1] ?? "", m[2], undefined), python: true };
  m = GO_FILE.exec(line);
  if (m) {
    const fnLine = (lines[i - 1] ?? "").trim().replace(/\(.*\)$/, "");
    return { frame: frame(fnLine, m[1] ?? "", m[2], undefined), python: false };
  }
  return null;
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
    causeDepth: 0,
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
