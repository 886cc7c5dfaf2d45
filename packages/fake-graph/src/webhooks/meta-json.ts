/**
 * JSON exactly as Meta serialises webhooks: `/` as `\/` and every non-ASCII UTF-16 unit as lowercase
 * `\uXXXX`, so the body is ASCII. Signatures are computed over these bytes; a receiver that re-serialises
 * the parsed body gets different bytes, which is the bug this reproduces.
 */
export const serializeLikeMeta = (value: unknown): string =>
  // Outside strings JSON has neither `/` nor non-ASCII, so replacing every occurrence is safe.
  JSON.stringify(value).replace(/[/\u0080-\uffff]/g, (unit) =>
    unit === '/' ? '\\/' : `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
