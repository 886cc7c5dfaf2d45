/** A parsed JSON object: any keys, including ones such as `__proto__` that JSON allows as plain data. */
export type JsonObject = { readonly [key: string]: unknown };

/**
 * Accepts the object itself rather than rebuilding it key by key: rebuilding by assignment turns a
 * `__proto__` key into a prototype change and the key is silently lost.
 */
export const isJsonObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
