/** A zod issue's path written as Graph writes field paths (`entry[0].changes[1].value`), after `prefix`. */
export const wirePathOf = (path: readonly PropertyKey[], prefix = ''): string =>
  path.reduce<string>(
    (joined, key) =>
      typeof key === 'number'
        ? `${joined}[${key}]`
        : joined === ''
          ? String(key)
          : `${joined}.${String(key)}`,
    prefix,
  );
