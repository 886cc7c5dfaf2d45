import type { Command } from 'commander';
import { exitFailure, exitUsage, fail } from './exit.ts';
import { failUseCase } from './fail-use-case.ts';
import { withBot } from './node-bot.ts';

export const addSecretsCommand = (program: Command): void => {
  program
    .command('secrets')
    .description('the sealed secrets: access tokens, app secrets, Flows keys, bank details')
    .command('reseal')
    .description(
      'seal every stored secret again with PRESTABOT_ENCRYPTION_KEY, bound to its row, so older keys can leave PRESTABOT_PREVIOUS_ENCRYPTION_KEYS; exit 1 if one cannot be opened',
    )
    .action(() =>
      withBot(async (bot) => {
        if (bot.config.encryptionKeys.current === undefined)
          return fail(
            'PRESTABOT_ENCRYPTION_KEY is not set: secrets are resealed with it (the old keys go in PRESTABOT_PREVIOUS_ENCRYPTION_KEYS)',
            exitUsage,
          );
        const report = await bot.admin.secrets.execute();
        if (report.isErr()) return failUseCase(report.error);
        const { resealed, current, unreadable } = report.value;
        for (const { place, keyId, message } of unreadable)
          process.stderr.write(
            `error: ${place.table}.${place.column} of ${place.tenantId === undefined ? '' : `tenant ${place.tenantId}, `}row ${place.rowId} (key ${keyId}) cannot be opened: ${message}\n`,
          );
        process.stdout.write(
          `resealed ${resealed} secret(s), ${current} already current${unreadable.length === 0 ? '' : `, ${unreadable.length} cannot be opened: keep the key that sealed them`}\n`,
        );
        if (unreadable.length > 0) process.exitCode = exitFailure;
      }),
    );
};
