import type { Command } from 'commander';
import { reportSyncOutcomes } from '../numbers-sync.ts';
import { failUseCase } from './fail-use-case.ts';
import { withBot } from './node-bot.ts';
import { type NumberFlags, numberInput, numberOptions } from './number-options.ts';

export const addNumbersCommand = (program: Command): void => {
  const numbers = program.command('numbers').description("a tenant's WhatsApp numbers");
  numberOptions(
    numbers
      .command('add')
      .description('add another number to a tenant')
      .requiredOption('--tenant <id>', 'the tenant id (prestabot tenants list)'),
  ).action((flags: NumberFlags & { tenant: string }) =>
    withBot(async (bot) => {
      const added = await bot.admin.tenants.addNumber(flags.tenant, await numberInput(flags));
      if (added.isErr()) failUseCase(added.error);
      else process.stdout.write(`${added.value.phoneNumberId}\n`);
    }),
  );

  numbers
    .command('sync')
    .description(
      "read each number's messaging limit, quality, throughput and name from Meta with its own token; the rate follows the throughput unless --rate pinned it",
    )
    .option('--phone-number-id <id>', 'one number; every number when absent')
    .option('--json', 'print JSON lines')
    .action((flags: { phoneNumberId?: string; json?: boolean }) =>
      withBot(async (bot) => {
        const outcomes = await bot.numberSync.sync(flags.phoneNumberId);
        if (outcomes.isErr()) return failUseCase(outcomes.error);
        process.exitCode = reportSyncOutcomes(outcomes.value, flags.json === true, (line) =>
          process.stdout.write(`${line}\n`),
        );
      }),
    );
};
