import { type Config, loadConfig } from '@prestabot/runtime';

/** Exit codes: 1 when something failed, 2 when the input (arguments, environment) was wrong. */
export const exitFailure = 1;
export const exitUsage = 2;

/** Ends the process with one line on stderr. */
export const fail = (line: string, code: number): never => {
  process.stderr.write(`error: ${line}\n`);
  process.exit(code);
};

export const configOrExit = (): Config => {
  const config = loadConfig(process.env);
  if (config.isOk()) return config.value;
  for (const problem of config.error) process.stderr.write(`error: ${problem.message}\n`);
  return process.exit(exitUsage);
};
