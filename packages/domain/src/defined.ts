/**
 * The fields whose value is not undefined, for optional properties under `exactOptionalPropertyTypes`:
 * `{ ...defined({ replyTo, contactId: entry.contactId }) }` leaves out whichever is undefined, instead of
 * one `...(x === undefined ? {} : { x })` per field.
 */
export const defined = <T extends object>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } => {
  const present: { [K in keyof T]?: Exclude<T[K], undefined> } = {};
  for (const key in fields) {
    const value = fields[key];
    if (value !== undefined) present[key] = value as Exclude<T[typeof key], undefined>;
  }
  return present;
};
