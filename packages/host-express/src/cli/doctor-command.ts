import type { Command } from 'commander';
import { diagnose } from '../doctor.ts';
import { configOrExit, exitFailure, fail } from './exit.ts';
import { openNodeBot } from './node-bot.ts';

export const addDoctorCommand = (program: Command): void => {
  program
    .command('doctor')
    .description(
      'check configuration, database, migrations, row-level security, tokens, secrets and Flows keys; exit 1 on any failure',
    )
    .action(async () => {
      const config = configOrExit();
      const bot = await openNodeBot(config, { migrate: false, quiet: true, login: 'admin' });
      const health = await bot.storage.inspect();
      const runtimeLogin = await bot.runtimeLogin();
      const flowKeys = new Map(
        await Promise.all(
          (health.isOk() && health.value.reachable ? (health.value.numbers ?? []) : []).map(
            async (number) =>
              [number.phoneNumberId, await bot.flowKeys.status(number.phoneNumberId)] as const,
          ),
        ),
      );
      await bot.close();
      if (health.isErr()) return fail(`database: ${health.error.message}`, exitFailure);
      if (runtimeLogin.isErr())
        return fail(`database (DATABASE_URL): ${runtimeLogin.error.message}`, exitFailure);
      const checks = diagnose(config, health.value, flowKeys, runtimeLogin.value);
      for (const item of checks)
        process.stdout.write(
          `${item.ok ? (item.warning === true ? '!' : '✓') : '✗'} ${item.label}${item.fix === undefined ? '' : `\n    fix: ${item.fix}`}\n`,
        );
      const failed = checks.filter((item) => !item.ok).length;
      process.stdout.write(failed === 0 ? 'all checks passed\n' : `${failed} check(s) failed\n`);
      process.exit(failed === 0 ? 0 : exitFailure);
    });
};
