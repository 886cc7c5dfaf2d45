import { readFile } from 'node:fs/promises';
import { text as readStream } from 'node:stream/consumers';
import type { Command } from 'commander';
import { exitUsage, fail } from './exit.ts';

/**
 * A secret given as `--name value`, `--name -` (read from standard input) or `--name-file path`. The
 * last two keep it off the command line, which every user of the machine can read (`ps`). One trailing
 * line break is dropped, as `echo` and editors leave one.
 */
export const secretOf = async (
  option: string,
  value: string | undefined,
  file: string | undefined,
): Promise<string | undefined> => {
  if (value !== undefined && file !== undefined)
    fail(`give --${option} or --${option}-file, not both`, exitUsage);
  const read =
    value === '-'
      ? await readStream(process.stdin)
      : file !== undefined
        ? await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) =>
            fail(
              `--${option}-file ${JSON.stringify(file)} cannot be read: ${error.code ?? error.message}`,
              exitUsage,
            ),
          )
        : value;
  const secret = read?.replace(/\r?\n$/, '');
  if (secret === '') fail(`--${option}${file === undefined ? '' : '-file'} gave an empty value`, exitUsage);
  return secret;
};

export const requiredSecretOf = async (option: string, value: string | undefined, file: string | undefined) =>
  (await secretOf(option, value, file)) ??
  fail(
    `--${option} <value>, --${option} - (standard input) or --${option}-file <path> is required`,
    exitUsage,
  );

export const accessTokenOptions = (command: Command, description: string) =>
  command
    .option('--access-token <token>', `${description}; "-" reads it from standard input`)
    .option(
      '--access-token-file <path>',
      `${description}, read from a file (preferred: off the command line)`,
    );
