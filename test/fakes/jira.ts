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
  description?: unknown;
  customFields?: Record<string, unknown>;
  comments?: Array<{ author: string; body: unknown; created?: string }>;
  /** Answer reads of this issue with 403, as Jira does without Browse permission. */
  forbidden?: boolean;
}

export interface FakeJira extends FakeServer {
  issues: Map<string, FakeIssue>;
}

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
export async function startFakeJira(options: { email: string; token: string }): Promise<FakeJira> {
  const issues = new Map<string, FakeIssue>();
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
  return Object.assign(server, { issues });
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
