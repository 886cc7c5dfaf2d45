import { defined } from '@prestabot/domain';
import type { Command } from 'commander';
import { failUseCase } from './fail-use-case.ts';
import { withBot } from './node-bot.ts';
import { printTable } from './print-table.ts';

export const addUsageCommand = (program: Command): void => {
  program
    .command('usage')
    .description(
      "messages of a month by tenant, number, Meta's pricing category and billable or free, from the statuses Meta sent",
    )
    .option('--tenant <id>', 'one tenant (prestabot tenants list); every tenant when absent')
    .option('--month <YYYY-MM>', 'a calendar month in UTC (default: the current one)')
    .option('--json', 'print JSON lines')
    .action((flags: { tenant?: string; month?: string; json?: boolean }) =>
      withBot(async (bot) => {
        const report = await bot.admin.usage.execute({
          ...defined({ tenantId: flags.tenant }),
          ...defined({ month: flags.month }),
        });
        if (report.isErr()) return failUseCase(report.error);
        const { month, rows } = report.value;
        if (flags.json === true) {
          for (const row of rows) process.stdout.write(`${JSON.stringify({ month, ...row })}\n`);
          return;
        }
        printTable([
          ['MONTH', 'TENANT', 'PHONE_NUMBER_ID', 'CATEGORY', 'BILLABLE', 'MESSAGES'],
          ...rows.map((row) => [
            month,
            row.tenantId,
            row.phoneNumberId,
            row.category,
            row.billable ? 'yes' : 'no',
            String(row.messages),
          ]),
        ]);
      }),
    );
};
