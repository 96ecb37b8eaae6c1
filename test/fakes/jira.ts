import { type FakeReply, type FakeServer, startFakeServer } from "./server.ts";

/** A minimal ADF document from paragraphs and bullet lists, as Jira's editor stores them. */
export function adf(...blocks: Array<string | string[]>) {
  return {
    type: "doc",
    version: 1,
    content: blocks.map((block) =>
      Array.isArray(block)
        ? {
            type: "bulletList",
            content: block.map((item) => ({
              type: "listItem",
              content: [{ type: "paragraph", content: [{ type: "text", text: item }] }],
            })),
          }
        : { type: "paragraph", content: [{ type: "text", text: block }] },
    ),
  };
}

export interface FakeIssue {
  key: string;
  summary: string;
  status: string;
  /** "done" for resolved/closed statuses, as Jira's status categories say. */
  statusCategory?: "new" | "indeterminate" | "done";
  labels?: string[];
  issueType?: string;
  links?: Array<{ type: string; key: string }>;
  remoteLinks?: Map<string, { url: string; title: string }>;
  description?: unknown;
  customFields?: Record<string, unknown>;
  comments?: Array<{ author: string; body: unknown; created?: string }>;
  /** Answer reads of this issue with 403, as Jira does without Browse permission. */
  forbidden?: boolean;
}

export interface FakeJira extends FakeServer {
  issues: Map<string, FakeIssue>;
  /** Comments added through the API (key → ADF bodies), in order. */
  added: Map<string, unknown[]>;
  /** Project permissions the user lacks (e.g. "LINK_ISSUES"), for /mypermissions. */
  denied: Set<string>;
  /**
   * How long a new issue stays out of /search/jql, as Jira's index lags a fresh write. Reads by
   * key see it at once, as on Jira.
   */
  searchLagMs: number;
}

const ISSUE_TYPES = ["Bug", "Task", "Incident"];

const FIELDS = [
  {
    id: "summary",
    key: "summary",
    name: "Summary",
    custom: false,
    orderable: true,
    navigable: true,
    searchable: true,
    clauseNames: ["summary"],
    schema: { type: "string", system: "summary" },
  },
  {
    id: "description",
    key: "description",
    name: "Description",
    custom: false,
    orderable: true,
    navigable: true,
    searchable: true,
    clauseNames: ["description"],
    schema: { type: "string", system: "description" },
  },
  {
    id: "status",
    key: "status",
    name: "Status",
    custom: false,
    orderable: false,
    navigable: true,
    searchable: true,
    clauseNames: ["status"],
    schema: { type: "status", system: "status" },
  },
  {
    id: "customfield_10042",
    key: "customfield_10042",
    name: "Acceptance Criteria",
    custom: true,
    orderable: true,
    navigable: true,
    searchable: true,
    clauseNames: ["cf[10042]", "Acceptance Criteria"],
    schema: {
      type: "string",
      custom: "com.atlassian.jira.plugin.system.customfieldtypes:textarea",
      customId: 10042,
    },
  },
];

/**
 * Jira Cloud REST v3 for the calls tracefix makes, with basic auth (email:API token), ADF bodies,
 * 404/403 per issue, and 410 Gone for the retired /search endpoints.
 */
export async function startFakeJira(options: {
  email: string;
  token: string;
  projects?: string[];
}): Promise<FakeJira> {
  const issues = new Map<string, FakeIssue>();
  const added = new Map<string, unknown[]>();
  const createdAt = new Map<string, number>();
  const denied = new Set<string>();
  const state = { searchLagMs: 0 };
  const projects = options.projects ?? ["OPS", "BILL"];
  const expected = `Basic ${Buffer.from(`${options.email}:${options.token}`).toString("base64")}`;
  const server = await startFakeServer((request, url) => {
    if (request.headers.authorization !== expected) {
      return reply(401, {
        errorMessages: ["Client must be authenticated to access this resource."],
        errors: {},
      });
    }
    const base = server?.url ?? "";
    const path = url.pathname;
    if (/^\/rest\/api\/[23]\/search\/?$/.test(path)) {
      return reply(410, {
        errorMessages: [
          "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.",
        ],
        errors: {},
      });
    }
    if (request.method === "GET" && path === "/rest/api/3/field") return reply(200, FIELDS);
    if (request.method === "GET" && path === "/rest/api/3/myself") {
      return reply(200, {
        accountId: "5b10ac8d82e05b22cc7d4ef5",
        accountType: "atlassian",
        emailAddress: options.email,
        displayName: "Tracefix Bot",
        active: true,
        self: `${server?.url ?? ""}/rest/api/3/user?accountId=5b10ac8d82e05b22cc7d4ef5`,
      });
    }
    if (request.method === "GET" && path === "/rest/api/3/mypermissions") {
      const keys = (url.searchParams.get("permissions") ?? "").split(",").filter(Boolean);
      if (keys.length === 0)
        return reply(400, { errorMessages: ["The permissions query parameter is required."], errors: {} });
      const project = url.searchParams.get("projectKey");
      if (project && !projects.includes(project))
        return reply(404, {
          errorMessages: [`No project could be found with key '${project}'.`],
          errors: {},
        });
      return reply(200, {
        permissions: Object.fromEntries(
          keys.map((key, i) => [
            key,
            {
              id: String(10 + i),
              key,
              name: key,
              type: "PROJECT",
              description: key,
              havePermission: !denied.has(key),
            },
          ]),
        ),
      });
    }
    const body = request.body ? (JSON.parse(request.body) as Record<string, unknown>) : {};
    if (request.method === "POST" && path === "/rest/api/3/search/jql") {
      // The enhanced search refuses a query with no restriction, as Jira Cloud does.
      if (!/\b(project|labels|key|issuekey)\s*(=|in)\s*\S/i.test(String(body.jql ?? "")))
        return reply(400, {
          errorMessages: [
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
          ],
          errors: {},
        });
      return reply(
        200,
        search(
          base,
          issues,
          String(body.jql ?? ""),
          Array.isArray(body.fields) ? (body.fields as string[]) : [],
          (key) => Date.now() - (createdAt.get(key) ?? 0) >= state.searchLagMs,
        ),
      );
    }
    if (request.method === "POST" && path === "/rest/api/3/issue") {
      const created = createIssue(base, issues, projects, body);
      const key = (created.body as { key?: string } | null)?.key;
      if (key) createdAt.set(key, Date.now());
      return created;
    }
    if (request.method === "POST" && path === "/rest/api/3/issueLink") {
      const type = (body.type as { name?: string } | undefined)?.name;
      const inward = issues.get(String((body.inwardIssue as { key?: string } | undefined)?.key));
      const outward = issues.get(String((body.outwardIssue as { key?: string } | undefined)?.key));
      if (!type || !inward || !outward)
        return reply(404, {
          errorMessages: ["Issue does not exist or you do not have permission to see it."],
          errors: {},
        });
      // Jira keeps no uniqueness here either: a repeated POST makes a second identical link.
      inward.links = [...(inward.links ?? []), { type, key: outward.key }];
      return { status: 201, body: null, text: "" };
    }
    const write = /^\/rest\/api\/3\/issue\/([^/]+)\/(comment|remotelink)$/.exec(path);
    if (request.method === "POST" && write) {
      const issue = issues.get(decodeURIComponent(write[1] ?? ""));
      if (!issue)
        return reply(404, {
          errorMessages: ["Issue does not exist or you do not have permission to see it."],
          errors: {},
        });
      if (write[2] === "comment") {
        if (!isAdf(body.body))
          return reply(400, { errorMessages: [], errors: { comment: "Comment body is not valid ADF." } });
        added.set(issue.key, [...(added.get(issue.key) ?? []), body.body]);
        issue.comments = [...(issue.comments ?? []), { author: "tracefix", body: body.body }];
        const id = String(30_000 + (added.get(issue.key)?.length ?? 0));
        return reply(201, {
          id,
          self: `${base}/rest/api/3/issue/${issue.key}/comment/${id}`,
          body: body.body,
          created: "2026-11-21T00:00:00.000+0000",
          updated: "2026-11-21T00:00:00.000+0000",
        });
      }
      const object = body.object as { url?: string; title?: string } | undefined;
      if (!object?.url || !object.title)
        return reply(400, { errorMessages: [], errors: { object: "url and title are required" } });
      issue.remoteLinks ??= new Map();
      const globalId = String(body.globalId ?? `${issue.remoteLinks.size}`);
      const existed = issue.remoteLinks.has(globalId);
      issue.remoteLinks.set(globalId, { url: object.url, title: object.title });
      return reply(existed ? 200 : 201, {
        id: 40_000 + issue.remoteLinks.size,
        self: `${base}/rest/api/3/issue/${issue.key}/remotelink/${globalId}`,
      });
    }
    const issueMatch = /^\/rest\/api\/3\/issue\/([^/]+)(\/comment)?$/.exec(path);
    if (request.method === "GET" && issueMatch) {
      const key = decodeURIComponent(issueMatch[1] ?? "");
      const issue = issues.get(key);
      if (!issue)
        return reply(404, {
          errorMessages: ["Issue does not exist or you do not have permission to see it."],
          errors: {},
        });
      if (issue.forbidden)
        return reply(403, {
          errorMessages: ["You do not have the permission to see the specified issue."],
          errors: {},
        });
      const id = String(10_000 + [...issues.keys()].indexOf(key));
      if (issueMatch[2]) return reply(200, commentsPage(base, id, issue));
      // Jira takes fields as repeated parameters or one comma-separated list.
      const requested = url.searchParams
        .getAll("fields")
        .flatMap((f) => f.split(","))
        .filter(Boolean);
      const all: Record<string, unknown> = {
        summary: issue.summary,
        description: issue.description ?? null,
        status: {
          self: `${base}/rest/api/3/status/3`,
          id: "3",
          name: issue.status,
          statusCategory: {
            id: 4,
            key: "indeterminate",
            name: "In Progress",
            colorName: "yellow",
            self: `${base}/rest/api/3/statuscategory/4`,
          },
        },
        issuelinks: (issue.links ?? []).map((l, i) => ({
          id: String(50_000 + i),
          self: `${base}/rest/api/3/issueLink/${50_000 + i}`,
          type: { id: "10003", name: l.type, inward: "relates to", outward: "relates to" },
          outwardIssue: {
            id: String(10_000 + [...issues.keys()].indexOf(l.key)),
            key: l.key,
            self: `${base}/rest/api/3/issue/${l.key}`,
            fields: { summary: issues.get(l.key)?.summary ?? "" },
          },
        })),
        ...issue.customFields,
      };
      const fields =
        requested.length > 0
          ? Object.fromEntries(Object.entries(all).filter(([k]) => requested.includes(k)))
          : all;
      return reply(200, {
        id,
        key,
        self: `${base}/rest/api/3/issue/${id}`,
        expand: "renderedFields,names,schema",
        fields,
      });
    }
    return reply(404, { errorMessages: [`no route for ${request.method} ${path}`], errors: {} });
  });
  const fake = Object.assign(server, { issues, added, denied });
  return Object.defineProperty(fake, "searchLagMs", {
    get: () => state.searchLagMs,
    set: (ms: number) => {
      state.searchLagMs = ms;
    },
  }) as FakeJira;
}

/**
 * The JQL tracefix sends: project = "X" AND labels = "L" (ORDER BY ignored). Only the fields asked
 * for come back; without `fields`, ids only, as the enhanced search answers.
 */
function search(
  base: string,
  issues: Map<string, FakeIssue>,
  jql: string,
  wanted: readonly string[],
  indexed: (key: string) => boolean,
) {
  const project = /project\s*=\s*"?([A-Z][A-Z0-9_]+)"?/.exec(jql)?.[1];
  const label = /labels\s*=\s*"([^"]+)"/.exec(jql)?.[1];
  const found = [...issues.values()].filter(
    (i) =>
      indexed(i.key) &&
      (!project || i.key.startsWith(`${project}-`)) &&
      (!label || (i.labels ?? []).includes(label)),
  );
  return {
    issues: found.map((i) => ({
      id: String(10_000 + [...issues.keys()].indexOf(i.key)),
      key: i.key,
      self: `${base}/rest/api/3/issue/${i.key}`,
      fields: Object.fromEntries(
        Object.entries({ summary: i.summary, labels: i.labels ?? [], status: statusOf(base, i) }).filter(
          ([name]) => wanted.includes(name) || wanted.includes("*all"),
        ),
      ),
    })),
    isLast: true,
  };
}

function createIssue(
  base: string,
  issues: Map<string, FakeIssue>,
  projects: string[],
  body: Record<string, unknown>,
): FakeReply {
  const fields = (body.fields ?? {}) as Record<string, unknown>;
  const project = (fields.project as { key?: string } | undefined)?.key ?? "";
  const errors: Record<string, string> = {};
  if (!projects.includes(project)) errors.project = "valid project is required";
  if (!ISSUE_TYPES.includes(String((fields.issuetype as { name?: string } | undefined)?.name)))
    errors.issuetype = "valid issue type is required";
  if (typeof fields.summary !== "string" || fields.summary.trim() === "" || fields.summary.length > 255)
    errors.summary = "You must specify a summary of the issue.";
  if (fields.description !== undefined && !isAdf(fields.description))
    errors.description = "Operation value must be an Atlassian Document.";
  const labels = (fields.labels as unknown[] | undefined) ?? [];
  if (labels.some((l) => typeof l !== "string" || /\s/.test(l)))
    errors.labels = "Labels cannot contain spaces.";
  if (Object.keys(errors).length > 0) return reply(400, { errorMessages: [], errors });
  const number = [...issues.keys()].filter((k) => k.startsWith(`${project}-`)).length + 1;
  const key = `${project}-${number}`;
  issues.set(key, {
    key,
    summary: String(fields.summary),
    status: "To Do",
    statusCategory: "new",
    labels: labels as string[],
    description: fields.description,
    issueType: String((fields.issuetype as { name?: string }).name),
  });
  const id = String(10_000 + issues.size - 1);
  return reply(201, { id, key, self: `${base}/rest/api/3/issue/${id}` });
}

function statusOf(base: string, issue: FakeIssue) {
  const category = issue.statusCategory ?? "indeterminate";
  const names = { new: "To Do", indeterminate: "In Progress", done: "Done" } as const;
  const ids = { new: 2, indeterminate: 4, done: 3 } as const;
  return {
    self: `${base}/rest/api/3/status/1`,
    id: "1",
    name: issue.status,
    statusCategory: {
      id: ids[category],
      key: category,
      name: names[category],
      colorName: "green",
      self: `${base}/rest/api/3/statuscategory/${ids[category]}`,
    },
  };
}

function isAdf(value: unknown): boolean {
  const doc = value as { type?: unknown; version?: unknown; content?: unknown } | undefined;
  if (doc?.type !== "doc" || doc.version !== 1 || !Array.isArray(doc.content)) return false;
  const check = (node: unknown): boolean => {
    const n = node as { type?: unknown; content?: unknown; text?: unknown };
    if (!n || typeof n.type !== "string") return false;
    if (n.type === "text" && (typeof n.text !== "string" || n.text === "")) return false;
    // The ADF schema requires at least one item in a list (and one node in a list item).
    if (
      ["bulletList", "orderedList", "listItem"].includes(n.type) &&
      (!Array.isArray(n.content) || n.content.length === 0)
    )
      return false;
    return n.content === undefined || (Array.isArray(n.content) && n.content.every(check));
  };
  return doc.content.every(check);
}

function reply(status: number, body: unknown): FakeReply {
  return { status, body };
}

function commentsPage(base: string, issueId: string, issue: FakeIssue) {
  const comments = (issue.comments ?? []).map((c, i) => ({
    id: String(20_000 + i),
    self: `${base}/rest/api/3/issue/${issueId}/comment/${20_000 + i}`,
    author: {
      accountId: `acc-${i}`,
      displayName: c.author,
      active: true,
      accountType: "atlassian",
      self: `${base}/rest/api/3/user?accountId=acc-${i}`,
    },
    body: c.body,
    created: c.created ?? "2026-11-19T10:00:00.000+0000",
    updated: c.created ?? "2026-11-19T10:00:00.000+0000",
    jsdPublic: true,
  }));
  return { startAt: 0, maxResults: 50, total: comments.length, comments };
}
