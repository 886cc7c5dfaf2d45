#!/usr/bin/env node

import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { addDemoCommand } from './cli/demo-command.ts';
import { addDoctorCommand } from './cli/doctor-command.ts';
import { exitUsage } from './cli/exit.ts';
import { addFlowsCommand } from './cli/flow-commands.ts';
import { addNumbersCommand } from './cli/number-commands.ts';
import { addSecretsCommand } from './cli/secret-commands.ts';
import { addMigrateCommand, addServeCommand, addWorkerCommand } from './cli/server-commands.ts';
import { addTemplatesCommand } from './cli/template-commands.ts';
import { addTenantsCommand } from './cli/tenant-commands.ts';
import { addUsageCommand } from './cli/usage-command.ts';

/** The host package's version, which `--version` prints. */
const version = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

const program = new Command('prestabot')
  .description('PrestaBot: a multi-tenant WhatsApp bot that keeps track of loans')
  .version(version, '-V, --version', 'print the version')
  .exitOverride()
  .configureOutput({ outputError: (message, write) => write(`${message.trim().split('\n')[0]}\n`) });

// The order here is the order `prestabot --help` lists the commands in.
addMigrateCommand(program);
addServeCommand(program);
addWorkerCommand(program);
addTenantsCommand(program);
addUsageCommand(program);
addNumbersCommand(program);
addTemplatesCommand(program);
addFlowsCommand(program);
addSecretsCommand(program);
addDoctorCommand(program);
addDemoCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : exitUsage);
  throw error;
}
