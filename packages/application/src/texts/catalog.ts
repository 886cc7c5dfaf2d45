import type { Locale } from '@prestabot/domain';
import { english } from './en.ts';
import { spanish } from './es.ts';

/** Every text the bot sends, per language. Code never spells out a user-facing sentence itself. */
export type Catalog = {
  readonly mainMenu: {
    readonly body: (name: string | undefined) => string;
    readonly newLoan: string;
    readonly myLoans: string;
    readonly myProfile: string;
  };
  readonly help: string;
  readonly cannotReadYet: string;
};

export const catalogFor = (locale: Locale): Catalog => (locale === 'en' ? english : spanish);
