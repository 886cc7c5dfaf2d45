/**
 * How a benchmark answers a bad command line: one line naming the problem, then its usage, exit status 2.
 * `read` runs the benchmark's own `parseArgs`, whose errors are such problems too.
 */
export const commandLine = (name: string, usage: string) => {
  const badInput = (problem: string): never => {
    process.stderr.write(`${name}: ${problem}\n${usage}\n`);
    process.exit(2);
  };
  const wholeNumber = (label: string, raw: string, min: number, max: number): number =>
    /^\d+$/.test(raw) && Number(raw) >= min && Number(raw) <= max
      ? Number(raw)
      : badInput(`${label} ${JSON.stringify(raw)} must be a whole number from ${min} to ${max}`);
  return {
    badInput,
    read: <T>(parse: () => T): T => {
      try {
        return parse();
      } catch (error) {
        return badInput(error instanceof Error ? error.message : String(error));
      }
    },
    wholeNumber,
    /** A comma-separated list of whole numbers, in ascending order. */
    wholeNumbers: (label: string, raw: string, min: number, max: number): number[] =>
      raw
        .split(',')
        .map((entry) => wholeNumber(`${label} entry`, entry.trim(), min, max))
        .sort((a, b) => a - b),
  };
};
