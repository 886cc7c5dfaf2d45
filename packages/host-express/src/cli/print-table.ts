/** Prints rows as columns padded to their widest cell, the first row being the header. */
export const printTable = (table: readonly (readonly string[])[]): void => {
  const widths = table[0]!.map((_, column) => Math.max(...table.map((line) => [...line[column]!].length)));
  for (const line of table)
    process.stdout.write(
      `${line
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd()}\n`,
    );
};
