import type { AddTenantInput } from '@prestabot/application';
import { defined } from '@prestabot/domain';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { failUseCase } from './fail-use-case.ts';
import { withBot } from './node-bot.ts';
import { type NumberFlags, numberInput, numberOptions } from './number-options.ts';
import { printTable } from './print-table.ts';
import { accessTokenOptions, requiredSecretOf } from './secret-options.ts';

const wholeHour = (value: string): number => {
  if (!/^\d{1,2}$/.test(value)) throw new InvalidArgumentError('expected a whole hour from 0 to 23');
  return Number(value);
};

export const addTenantsCommand = (program: Command): void => {
  const tenants = program.command('tenants').description('tenants and their numbers');

  numberOptions(
    tenants
      .command('add')
      .description('create a tenant with its first number; prints the tenant id')
      .requiredOption('--name <name>', "the tenant's name")
      .option('--timezone <zone>', 'IANA time zone for due dates and reminders', 'America/Santiago')
      .option('--locale <locale>', 'language of the bot: es-CL, es or en', 'es-CL'),
  ).action((flags: NumberFlags & { name: string; timezone: string; locale: string }) =>
    withBot(async (bot) => {
      const input: AddTenantInput = {
        ...(await numberInput(flags)),
        name: flags.name,
        timezone: flags.timezone,
        locale: flags.locale,
      };
      const added = await bot.admin.tenants.addTenant(input);
      if (added.isErr()) failUseCase(added.error);
      else process.stdout.write(`${added.value.tenantId}\n`);
    }),
  );

  tenants
    .command('list')
    .description('one row per tenant and number, with the token status (never the token)')
    .option('--json', 'print JSON lines')
    .action((flags: { json?: boolean }) =>
      withBot(async (bot) => {
        const rows = await bot.admin.tenants.listTenants();
        if (rows.isErr()) return failUseCase(rows.error);
        if (flags.json === true) {
          for (const row of rows.value) process.stdout.write(`${JSON.stringify(row)}\n`);
          return;
        }
        printTable([
          // Meta's view goes last, so readers of the earlier columns keep working.
          [
            'TENANT',
            'NAME',
            'TIMEZONE',
            'PHONE_NUMBER_ID',
            'DISPLAY',
            'WABA',
            'RATE',
            'TOKEN',
            'LIMIT',
            'QUALITY',
            'THROUGHPUT',
          ],
          ...rows.value.map((row) => [
            row.tenantId,
            row.name,
            row.timezone,
            row.phoneNumberId ?? '-',
            row.displayPhoneNumber ?? '-',
            row.wabaId ?? '-',
            String(row.ratePerSecond ?? '-'),
            row.tokenStatus,
            row.phoneNumberId === undefined ? '-' : (row.messagingLimit ?? '?'),
            `${row.qualityRating ?? '-'}${row.qualityFlagged === true ? ' FLAGGED' : ''}`,
            row.throughputLevel ?? '-',
          ]),
        ]);
      }),
    );

  accessTokenOptions(
    tenants
      .command('rotate-token')
      .description("replace a number's access token; the next send uses it, no restart needed")
      .requiredOption('--phone-number-id <id>', 'the number'),
    'the new token',
  ).action((flags: { phoneNumberId: string; accessToken?: string; accessTokenFile?: string }) =>
    withBot(async (bot) => {
      const rotated = await bot.admin.tenants.rotateToken(
        flags.phoneNumberId,
        await requiredSecretOf('access-token', flags.accessToken, flags.accessTokenFile),
      );
      if (rotated.isErr()) failUseCase(rotated.error);
      else process.stdout.write(`token replaced for ${flags.phoneNumberId}\n`);
    }),
  );

  tenants
    .command('configure')
    .description("change a tenant's settings; what is not given stays as it is")
    .requiredOption('--tenant <id>', 'the tenant id (prestabot tenants list)')
    .option(
      '--profile-flow-id <id>',
      'the "My profile" Flow id of this tenant ("" for WHATSAPP_PROFILE_FLOW_ID)',
    )
    .addOption(
      new Option('--reminder-hour <hour>', 'local hour (0-23) at which reminders go out').argParser(
        wholeHour,
      ),
    )
    .option('--currency <code>', 'currency of amounts typed without one, e.g. CLP')
    .option('--calling-code <code>', 'country calling code of phone numbers typed without one, e.g. 56')
    .action(
      (flags: {
        tenant: string;
        profileFlowId?: string;
        reminderHour?: number;
        currency?: string;
        callingCode?: string;
      }) =>
        withBot(async (bot) => {
          const configured = await bot.admin.tenants.configureTenant(flags.tenant, {
            ...defined({ profileFlowId: flags.profileFlowId }),
            ...defined({ reminderSendHour: flags.reminderHour }),
            ...defined({ defaultCurrency: flags.currency }),
            ...defined({ defaultCallingCode: flags.callingCode }),
          });
          if (configured.isErr()) failUseCase(configured.error);
          else process.stdout.write(`${JSON.stringify(configured.value)}\n`);
        }),
    );
};
