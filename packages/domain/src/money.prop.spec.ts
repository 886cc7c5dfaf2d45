import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  type AmountError,
  currencyCodes,
  formatMoney,
  type Money,
  maxAmountMinorUnits,
  minorUnitDigits,
  parseAmount,
} from './money.ts';
import type { Result } from './result.ts';
import type { Locale } from './tenant.ts';

const locales: readonly Locale[] = ['es-CL', 'es', 'en'];
const anyLocale = fc.constantFrom(...locales);
const anyCurrency = fc.constantFrom(...currencyCodes);
const anyMoney: fc.Arbitrary<Money> = fc.record({
  minor: fc.oneof(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: maxAmountMinorUnits })),
  currency: anyCurrency,
});

const errorTypes: readonly AmountError['type'][] = [
  'empty_amount',
  'unreadable_amount',
  'amount_not_positive',
  'ambiguous_separator',
  'too_many_decimals',
  'amount_too_large',
  'unknown_currency',
  'currency_mismatch',
  'conflicting_currencies',
];

const expectWellFormed = (result: Result<Money, AmountError>) => {
  if (result.isOk()) {
    expect(Number.isSafeInteger(result.value.minor)).toBe(true);
    expect(result.value.minor).toBeGreaterThan(0);
    expect(result.value.minor).toBeLessThanOrEqual(maxAmountMinorUnits);
    expect(currencyCodes).toContain(result.value.currency);
  } else {
    expect(errorTypes).toContain(result.error.type);
    expect(result.error.expected.length).toBeGreaterThan(0);
  }
};

/** Text made of the pieces amounts are made of, so the parser's deeper paths see odd combinations. */
const amountLikeText = fc
  .array(
    fc.constantFrom(
      '5',
      '0',
      '12',
      '000',
      '.',
      ',',
      ' ',
      '$',
      'US$',
      'usd',
      'CLP',
      'jpy',
      '€',
      'mil',
      'k',
      'lucas',
      'millones',
      'un',
      'medio',
      'de',
      'pesos',
      'dólares',
      '-',
      '.-',
      '\u00a0',
    ),
    { maxLength: 8 },
  )
  .map((pieces) => pieces.join(''));

describe('parseAmount', () => {
  test.prop([fc.string({ unit: 'grapheme' }), anyLocale, anyCurrency], { numRuns: 1000 })(
    'never throws on any text, and answers money within bounds or a known error',
    (text, locale, currency) => {
      expectWellFormed(parseAmount(text, { locale, currency }));
    },
  );

  test.prop([amountLikeText, anyLocale, anyCurrency], { numRuns: 2000 })(
    'never throws on amount-like text either',
    (text, locale, currency) => {
      expectWellFormed(parseAmount(text, { locale, currency }));
    },
  );

  test.prop([anyMoney, anyLocale], { numRuns: 1000 })(
    "reads back any formatted amount in the tenant's currency",
    (money, locale) => {
      expect(
        parseAmount(formatMoney(money, locale), { locale, currency: money.currency })._unsafeUnwrap(),
      ).toEqual(money);
    },
  );

  test.prop([anyMoney, anyLocale, anyCurrency], { numRuns: 1000 })(
    "reads back any formatted amount whatever the tenant's currency, unless it is written with a bare $",
    (money, locale, tenantCurrency) => {
      const formatted = formatMoney(money, locale);
      fc.pre(!formatted.startsWith('$'));
      expect(parseAmount(formatted, { locale, currency: tenantCurrency })._unsafeUnwrap()).toEqual(money);
    },
  );

  // Intl's de-DE writes dot thousands for every number above 999: an oracle independent of formatMoney.
  const dotThousands = new Intl.NumberFormat('de-DE', { useGrouping: true });
  const commaThousands = new Intl.NumberFormat('en-US', { useGrouping: true });
  const anyWholeAmount = fc.oneof(
    fc.integer({ min: 1, max: 100_000 }),
    fc.integer({ min: 1, max: maxAmountMinorUnits }),
  );

  test.prop([anyWholeAmount, fc.constantFrom('', '$', '$ '), fc.constantFrom('', ' pesos', ' CLP', '.-')], {
    numRuns: 1000,
  })('in es-CL any whole number written with dot thousands is that many pesos', (n, prefix, suffix) => {
    expect(
      parseAmount(`${prefix}${dotThousands.format(n)}${suffix}`, {
        locale: 'es-CL',
        currency: 'CLP',
      })._unsafeUnwrap(),
    ).toEqual({
      minor: n,
      currency: 'CLP',
    });
  });

  test.prop([fc.integer({ min: 1, max: maxAmountMinorUnits / 100 - 1 }), fc.integer({ min: 0, max: 99 })], {
    numRuns: 1000,
  })('in en dollars and cents written with comma thousands read exactly', (dollars, cents) => {
    const text = `$${commaThousands.format(dollars)}.${String(cents).padStart(2, '0')}`;
    expect(parseAmount(text, { locale: 'en', currency: 'USD' })._unsafeUnwrap()).toEqual({
      minor: dollars * 100 + cents,
      currency: 'USD',
    });
  });

  test.prop([anyWholeAmount, anyLocale, anyCurrency], { numRuns: 1000 })(
    'plain digits are whole units in every locale',
    (n, locale, currency) => {
      const minor = n * 10 ** minorUnitDigits(currency);
      fc.pre(minor <= maxAmountMinorUnits);
      expect(parseAmount(String(n), { locale, currency })._unsafeUnwrap()).toEqual({ minor, currency });
    },
  );

  test.prop(
    [
      fc.integer({ min: 1, max: 999_999 }),
      fc.constantFrom(['mil', 1000], ['lucas', 1000], ['millones', 1_000_000]),
    ],
    { numRuns: 1000 },
  )('"n mil", "n lucas" and "n millones" multiply in Chile', (n, [word, factor]) => {
    const result = parseAmount(`${n} ${word}`, { locale: 'es-CL', currency: 'CLP' });
    if (n * factor > maxAmountMinorUnits) expect(result._unsafeUnwrapErr().type).toBe('amount_too_large');
    else expect(result._unsafeUnwrap()).toEqual({ minor: n * factor, currency: 'CLP' });
  });

  test.prop([fc.integer({ min: 1, max: 999 }), fc.integer({ min: 0, max: 999 }), anyCurrency], {
    numRuns: 1000,
  })(
    "one separator before three digits is thousands in the locale's convention and refused in the other",
    (thousands, units, currency) => {
      const group = String(units).padStart(3, '0');
      const spanish = { locale: 'es-CL', currency } as const;
      const english = { locale: 'en', currency } as const;
      const minor = (thousands * 1000 + units) * 10 ** minorUnitDigits(currency);
      expect(parseAmount(`${thousands}.${group}`, spanish)._unsafeUnwrap().minor).toBe(minor);
      expect(parseAmount(`${thousands},${group}`, english)._unsafeUnwrap().minor).toBe(minor);
      expect(parseAmount(`${thousands},${group}`, spanish)._unsafeUnwrapErr().type).toBe(
        'ambiguous_separator',
      );
      expect(parseAmount(`${thousands}.${group}`, english)._unsafeUnwrapErr().type).toBe(
        'ambiguous_separator',
      );
    },
  );
});
