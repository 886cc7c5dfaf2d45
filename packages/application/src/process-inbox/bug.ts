/** Something thrown while processing: a bug, kept with its stack for the log. */
export type Bug = { readonly type: 'bug'; readonly message: string; readonly stack: string };

export const bugOf = (thrown: unknown): Bug =>
  thrown instanceof Error
    ? { type: 'bug', message: thrown.message, stack: thrown.stack ?? thrown.message }
    : { type: 'bug', message: String(thrown), stack: String(thrown) };
