import type { Command } from 'commander';
import { failUseCase } from './fail-use-case.ts';
import { withBot } from './node-bot.ts';

export const addTemplatesCommand = (program: Command): void => {
  const templates = program.command('templates').description("a tenant's approved message templates");
  templates
    .command('add')
    .description('register an approved template for a purpose and language')
    .requiredOption('--tenant <id>', 'the tenant id')
    .requiredOption(
      '--purpose <purpose>',
      'loan_confirmation_request, loan_reminder, loan_overdue_notice, loan_update or loan_return_claim',
    )
    .requiredOption('--name <name>', 'the template name in WhatsApp Manager')
    .requiredOption('--language <code>', 'the template language, e.g. es_CL')
    .option(
      '--parameters <list>',
      'body parameters in order, e.g. borrower_name,loan,due_date (or name=variable)',
    )
    .option('--quick-replies <list>', 'quick-reply buttons in order, e.g. accept,reject')
    .action(
      (flags: {
        tenant: string;
        purpose: string;
        name: string;
        language: string;
        parameters?: string;
        quickReplies?: string;
      }) =>
        withBot(async (bot) => {
          const added = await bot.admin.templates.add(flags);
          if (added.isErr()) failUseCase(added.error);
          else
            process.stdout.write(`${added.value.purpose} → ${added.value.name} (${added.value.language})\n`);
        }),
    );
  templates
    .command('list')
    .requiredOption('--tenant <id>', 'the tenant id')
    .option('--json', 'print JSON lines')
    .action((flags: { tenant: string; json?: boolean }) =>
      withBot(async (bot) => {
        const listed = await bot.admin.templates.list(flags.tenant);
        if (listed.isErr()) return failUseCase(listed.error);
        for (const template of listed.value) {
          if (flags.json === true) {
            process.stdout.write(`${JSON.stringify(template)}\n`);
            continue;
          }
          process.stdout.write(
            `${template.purpose}  ${template.name}  ${template.language}  parameters=${template.parameters.map((p) => (p.name === undefined ? p.variable : `${p.name}=${p.variable}`)).join(',') || '-'}  quick-replies=${template.quickReplies.join(',') || '-'}${template.stopped === undefined ? '' : `  STOPPED (${template.stopped.status}): ${template.stopped.reason}`}\n`,
          );
        }
      }),
    );
};
