import { z } from "zod";
import { identifier } from "../../identifiers.ts";
import type { SessionFigures } from "./signals.ts";

/** SPEC `agentSessions[]`: the coding-agent sessions that produced the group's commit. */
export const AgentSessionLinkSchema = z.object({
  sessionId: identifier(z.string()),
  link: z.enum(["jira_comment", "issue_key", "repo_time"]),
  toolCalls: z.number().int().nonnegative(),
  toolFailures: z.number().int().nonnegative(),
  permissionDenials: z.number().int().nonnegative(),
  inputTokens: z.number().nonnegative(),
  outputTokens: z.number().nonnegative(),
  filesModified: z.array(z.string()),
  /** The plan from the session's write-back comment, when it has one. */
  plan: z.string().nullable(),
  /** How the link was checked against the commit. */
  checked: z.string(),
});

export type AgentSessionLink = z.infer<typeof AgentSessionLinkSchema>;

export interface LinkInput {
  commit: { authoredAt: string; files: readonly string[] } | null;
  issueKey: string | null;
  repository: string | null;
  agentNotes: readonly string[];
  sessions: ReadonlyMap<string, SessionFigures>;
}

export interface LinkOutcome {
  links: AgentSessionLink[];
  /** Why a candidate was not linked: shown with the group's evidence problems. */
  notes: string[];
}

const HOUR = 3_600_000;
// A session writes its commit at its end or shortly after; a day back covers long sessions.
const BEFORE_COMMIT_MS = 72 * HOUR;
const AFTER_COMMIT_MS = 2 * HOUR;
// The weakest link: only a session that ended this close before the commit.
const REPO_TIME_MS = 2 * HOUR;
const SESSION_ID = /^[A-Za-z0-9][\w.:-]{3,127}$/;

/**
 * Links the commit to the sessions that wrote it, strongest evidence first: the session ids in
 * the work item's write-back comments, agent spans carrying the issue key, and (only when neither
 * gives a link) the one session of the same repository that ended shortly before the commit.
 * Every link is checked against the commit: files modified must overlap the commit's files, and
 * the session's time must fit the commit's author time. Anything else links to nothing.
 */
export function linkSessions(input: LinkInput): LinkOutcome {
  const notes: string[] = [];
  if (!input.commit) return { links: [], notes };
  const authored = Date.parse(input.commit.authoredAt);
  const commitFiles = new Set(input.commit.files);
  const fitsTime = (s: SessionFigures | undefined) =>
    s !== undefined &&
    s.firstMs <= authored + AFTER_COMMIT_MS &&
    s.lastMs + 10 * 60_000 >= authored - BEFORE_COMMIT_MS;
  const links = new Map<string, AgentSessionLink>();
  const add = (
    id: string,
    link: AgentSessionLink["link"],
    checked: string,
    files: string[],
    plan: string | null,
  ) => {
    if (links.has(id)) return;
    const s = input.sessions.get(id);
    links.set(id, {
      sessionId: id,
      link,
      toolCalls: s?.toolCalls ?? 0,
      toolFailures: s?.toolFailures ?? 0,
      permissionDenials: s?.permissionDenials ?? 0,
      inputTokens: s?.inputTokens ?? 0,
      outputTokens: s?.outputTokens ?? 0,
      filesModified: files,
      plan,
      checked,
    });
  };

  for (const note of input.agentNotes) {
    const comment = parseWriteBack(note);
    if (!comment) continue;
    if (!comment.sessionId) {
      notes.push("an agent write-back comment names no valid session id; not linked");
      continue;
    }
    const overlap = comment.files.filter((f) =>
      [...commitFiles].some((c) => c === f || c.endsWith(`/${f}`) || f.endsWith(`/${c}`)),
    );
    const session = input.sessions.get(comment.sessionId);
    if (comment.files.length > 0) {
      if (overlap.length === 0) {
        notes.push(
          `session ${comment.sessionId} (Jira comment) modified none of the commit's files; not linked`,
        );
        continue;
      }
      add(
        comment.sessionId,
        "jira_comment",
        `modified ${overlap.length} of the commit's ${commitFiles.size} file(s)`,
        comment.files,
        comment.plan,
      );
    } else if (fitsTime(session)) {
      add(
        comment.sessionId,
        "jira_comment",
        "no file list; its spans end before the commit's author time",
        [],
        comment.plan,
      );
    } else {
      notes.push(
        `session ${comment.sessionId} (Jira comment) lists no files and its time cannot be checked; not linked`,
      );
    }
  }

  if (input.issueKey) {
    for (const s of input.sessions.values()) {
      if (!s.issueKeys.includes(input.issueKey)) continue;
      if (s.writeCalls === 0) continue;
      if (!fitsTime(s)) {
        notes.push(`session ${s.id} carries ${input.issueKey} but ran outside the commit's time; not linked`);
        continue;
      }
      add(
        s.id,
        "issue_key",
        `its spans carry ${input.issueKey}, it edited files, and it ran before the commit`,
        [],
        null,
      );
    }
  }

  if (links.size === 0 && input.repository) {
    const repo = input.repository.toLowerCase();
    const candidates = [...input.sessions.values()].filter(
      (s) =>
        s.repo
          .toLowerCase()
          .replace(/\.git$/, "")
          .endsWith(repo) &&
        s.writeCalls > 0 &&
        s.lastMs + 10 * 60_000 >= authored - REPO_TIME_MS &&
        s.lastMs <= authored + AFTER_COMMIT_MS,
    );
    if (candidates.length === 1 && candidates[0]) {
      add(
        candidates[0].id,
        "repo_time",
        `the only session of ${input.repository} that edited files in the ${REPO_TIME_MS / HOUR} h before the commit`,
        [],
        null,
      );
    } else if (candidates.length > 1) {
      notes.push(
        `${candidates.length} sessions of ${input.repository} edited files shortly before the commit; none linked (a guess is worse than no link)`,
      );
    }
  }
  return { links: [...links.values()], notes };
}

export interface WriteBack {
  sessionId: string | null;
  files: string[];
  plan: string | null;
}

/** `*Agent session complete* (<id>)` comments: the session id, its files modified and its plan. */
export function parseWriteBack(text: string): WriteBack | null {
  const head = /Agent session complete\W*\(([^)]*)\)/i.exec(text);
  if (!head) return null;
  const id = (head[1] ?? "").trim();
  return {
    sessionId: SESSION_ID.test(id) ? id : null,
    files: section(text, /files? (modified|changed)/i)
      .flatMap((line) => line.split(/,\s*/))
      .map((f) => f.replace(/^[-*•\s`]+|[`\s]+$/g, "").replace(/\s+\(.*\)$/, ""))
      .filter((f) => /^[\w./-]+\.[\w]+$|^[\w.-]+\/[\w./-]+$/.test(f)),
    plan:
      section(text, /^\W*plan\b/i)
        .join("\n")
        .trim() || null,
  };
}

/** The lines under a heading (a line matching `title`), up to the next heading-like line. */
function section(text: string, title: RegExp): string[] {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => title.test(l));
  if (start < 0) return [];
  const inline = (lines[start] ?? "").split(/:\s*/).slice(1).join(": ").trim();
  const out = inline ? [inline] : [];
  for (const line of lines.slice(start + 1)) {
    if (/^\s*(#+\s|\*\*[^*]+\*\*\s*:?\s*$|[A-Z][\w ]{2,30}:\s*$)/.test(line)) break;
    if (
      /^\s*(summary|plan|files? (modified|changed)|tool calls|duration)\b/i.test(line.replace(/^[#*\s]+/, ""))
    )
      break;
    if (line.trim() !== "") out.push(line.trim());
  }
  return out;
}
