import { readFile } from 'node:fs/promises';
import { defaultFlowKeyGraceMs } from '@prestabot/runtime';
import type { Command } from 'commander';
import { exitUsage, fail } from './exit.ts';
import { failUseCase } from './fail-use-case.ts';
import { withBot } from './node-bot.ts';

export const addFlowsCommand = (program: Command): void => {
  const flows = program.command('flows').description('WhatsApp Flows: keys and the Flow JSON');
  flows
    .command('keygen')
    .description(
      "generate a new key for a number's Flows (the previous one keeps working for a day); prints its public key",
    )
    .requiredOption('--phone-number-id <id>', 'the number')
    .action((flags: { phoneNumberId: string }) =>
      withBot(async (bot) => {
        const generated = await bot.flowKeys.generate(flags.phoneNumberId);
        if (generated.isErr()) return failUseCase(generated.error);
        process.stdout.write(`${generated.value.publicKeyPem}`);
        process.stderr.write(
          `key ${generated.value.fingerprint} stored; upload it with: prestabot flows register-key --phone-number-id ${flags.phoneNumberId}\n`,
        );
      }),
    );
  flows
    .command('register-key')
    .description("upload the public key of the number's Flows key to Meta, with the number's own token")
    .requiredOption('--phone-number-id <id>', 'the number')
    .action((flags: { phoneNumberId: string }) =>
      withBot(async (bot) => {
        const registered = await bot.flowKeys.register(flags.phoneNumberId);
        if (registered.isErr()) return failUseCase(registered.error);
        process.stdout.write(`registered key ${registered.value.fingerprint} for ${flags.phoneNumberId}\n`);
      }),
    );
  flows
    .command('key-status')
    .description('the keys in use for a number, and whether Meta holds the current one')
    .requiredOption('--phone-number-id <id>', 'the number')
    .option('--json', 'print it as JSON')
    .action((flags: { phoneNumberId: string; json?: boolean }) =>
      withBot(async (bot) => {
        const status = await bot.flowKeys.status(flags.phoneNumberId);
        if (status.isErr()) return failUseCase(status.error);
        if (flags.json === true) {
          process.stdout.write(`${JSON.stringify(status.value)}\n`);
          return;
        }
        const { keys, registered, registeredUnknown } = status.value;
        if (keys.length === 0)
          process.stdout.write('no key: run prestabot flows keygen, or set FLOWS_PRIVATE_KEY\n');
        const stateOf = (key: (typeof keys)[number]) => {
          if (key.retiredAt === undefined) return 'current';
          const retired = `retired ${key.retiredAt.toISOString()}`;
          return key.graceFrom === undefined
            ? `${retired}, still accepted: its successor is not registered yet`
            : `${retired}, accepted until ${new Date(key.graceFrom.getTime() + defaultFlowKeyGraceMs).toISOString()}`;
        };
        for (const key of keys) process.stdout.write(`${key.fingerprint}  ${key.scope}  ${stateOf(key)}\n`);
        if (registered !== undefined)
          process.stdout.write(
            `Meta holds ${registered.matchesCurrent ? 'the current key' : 'ANOTHER key (run flows register-key)'}, signature ${registered.signatureStatus}\n`,
          );
        else
          process.stdout.write(
            registeredUnknown === undefined
              ? 'Meta holds no key for this number (run flows register-key)\n'
              : `could not ask Meta: ${registeredUnknown}\n`,
          );
      }),
    );
  flows
    .command('print-json')
    .description('print the Flow JSON to upload in WhatsApp Manager (Flows → Create → edit JSON)')
    .argument('[flow]', 'the Flow', 'profile')
    .action(async (flow: string) => {
      if (flow !== 'profile') fail(`flow ${JSON.stringify(flow)} is not known: expected profile`, exitUsage);
      process.stdout.write(await readFile(new URL('../../flows/profile.json', import.meta.url), 'utf8'));
    });
};
