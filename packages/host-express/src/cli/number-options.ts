import type { NumberInput } from '@prestabot/application';
import { defined } from '@prestabot/domain';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { accessTokenOptions, requiredSecretOf, secretOf } from './secret-options.ts';

const rate = (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1000)
    throw new InvalidArgumentError('expected a whole number of messages per second from 1 to 1000');
  return Number(value);
};

export const numberOptions = (command: Command) =>
  accessTokenOptions(
    command.requiredOption('--phone-number-id <id>', "the number's id from WhatsApp Manager → API Setup"),
    "the number's own access token (a system user token)",
  )
    .requiredOption('--waba-id <id>', 'the WhatsApp Business Account id')
    .option('--display-phone <phone>', 'the number in E.164, e.g. +56912345678')
    .option(
      '--app-secret <secret>',
      'the secret of the Meta app that signs this number\'s webhooks (default: META_APP_SECRET); "-" reads it from standard input',
    )
    .option('--app-secret-file <path>', 'the same secret, read from a file')
    .option('--app-id <id>', 'the Meta app id the secret belongs to')
    .addOption(
      new Option('--rate <per-second>', 'messages per second Meta allows this number').argParser(rate),
    );

export type NumberFlags = {
  phoneNumberId: string;
  accessToken?: string;
  accessTokenFile?: string;
  wabaId: string;
  displayPhone?: string;
  appSecret?: string;
  appSecretFile?: string;
  appId?: string;
  rate?: number;
};

export const numberInput = async (flags: NumberFlags): Promise<NumberInput> => {
  const appSecret = await secretOf('app-secret', flags.appSecret, flags.appSecretFile);
  return {
    phoneNumberId: flags.phoneNumberId,
    accessToken: await requiredSecretOf('access-token', flags.accessToken, flags.accessTokenFile),
    wabaId: flags.wabaId,
    ...defined({ displayPhone: flags.displayPhone }),
    ...defined({ appSecret }),
    ...defined({ metaAppId: flags.appId }),
    ...defined({ ratePerSecond: flags.rate }),
  };
};
