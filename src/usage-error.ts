/** A problem the user must fix before a run can start: exit code 2, nothing was sent anywhere. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
