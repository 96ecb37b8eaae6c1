export interface RepoRef {
  owner: string;
  repo: string;
}

export type RepoResolution =
  | { repo: RepoRef; source: "config" | "span" | "env" }
  | { repo: null; reason: string };

export interface RepositoryHints {
  service: string;
  repositoryUrl: string | null;
}

export interface RepositorySettings {
  services: Record<string, { repo: string }>;
  defaultRepository: string | null;
  /** Web host of the configured GitHub (github.com, or the GHES host): span URLs elsewhere are ignored. */
  githubHost: string;
}

/**
 * service → repository: triage.config.json first, then the span's vcs.repository.url.full (only on
 * the configured GitHub host, and only ever used to read evidence), then GITHUB_REPOSITORY.
 */
export function resolveRepository(group: RepositoryHints, settings: RepositorySettings): RepoResolution {
  const configured = settings.services[group.service]?.repo;
  if (configured) return { repo: splitSlug(configured), source: "config" };
  const fromSpan = group.repositoryUrl ? parseRepositoryUrl(group.repositoryUrl, settings.githubHost) : null;
  if (fromSpan) return { repo: fromSpan, source: "span" };
  if (settings.defaultRepository) return { repo: splitSlug(settings.defaultRepository), source: "env" };
  return {
    repo: null,
    reason: `no repository for service ${group.service}: map it in triage.config.json "services" or set GITHUB_REPOSITORY`,
  };
}

/** https://host/owner/repo(.git), git@host:owner/repo.git, ssh://git@host/owner/repo.git */
export function parseRepositoryUrl(url: string, githubHost: string): RepoRef | null {
  const match = /^(?:https?:\/\/|ssh:\/\/git@|git@)([^/:]+)[/:]([\w.-]+)\/([\w.-]+?)(?:\.git)?\/?$/.exec(
    url.trim(),
  );
  if (!match) return null;
  const [, host, owner, repo] = match;
  if (!host || !owner || !repo || host.toLowerCase() !== githubHost.toLowerCase()) return null;
  return { owner, repo };
}

/** api.github.com → github.com; a GHES API URL (https://ghe.example.com/api/v3) → ghe.example.com. */
export function githubWebHost(apiUrl: string): string {
  const host = new URL(apiUrl).hostname;
  return host === "api.github.com" ? "github.com" : host;
}

function splitSlug(slug: string): RepoRef {
  const [owner = "", repo = ""] = slug.split("/");
  return { owner, repo };
}

export function slugOf(ref: RepoRef): string {
  return `${ref.owner}/${ref.repo}`;
}
