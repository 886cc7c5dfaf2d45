import type { Command } from 'commander';
import { runDemo } from '../demo/demo.ts';

export const addDemoCommand = (program: Command): void => {
  program
    .command('demo')
    .description(
      'the sandbox: embedded database, fake Meta, two tenants, a scripted conversation on both numbers',
    )
    .action(async () => {
      const code = await runDemo((line) => process.stdout.write(`${line}\n`));
      process.exit(code);
    });
};
