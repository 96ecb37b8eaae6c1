/** The issue key a group points at: the span's work_tracker.issue_id, else the PR branch, else its title. */
export function issueKeyFor(
  spanKey: string | null,
  branch: string | null,
  title: string | null,
): string | null {
  if (spanKey) return spanKey;
  for (const text of [branch, title]) {
    const match = text ? /\b([A-Z][A-Z0-9_]+-\d+)\b/.exec(text) : null;
    if (match?.[1]) return match[1];
  }
  return null;
}
