// The one place the workspace imports its Result library, so it can be swapped without touching callers.

export type { Err, Ok } from 'neverthrow';
export { err, errAsync, ok, okAsync, Result, ResultAsync, safeTry } from 'neverthrow';
