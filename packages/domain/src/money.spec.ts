import { describe, expect, it } from 'vitest';
import {
  type AmountOptions,
  type CurrencyCode,
  currencyCodes,
  formatMoney,
  maxAmountMinorUnits,
  minorUnitDigits,
  moneyOf,
  parseAmount,
  parseCurrencyCode,
} from './money.ts';

const chile: AmountOptions = { locale: 'es-CL', currency: 'CLP' };
const spain: AmountOptions = { locale: 'es', currency: 'EUR' };
const us: AmountOptions = { locale: 'en', currency: 'USD' };

const parsed = (text: string, options: AmountOptions) => parseAmount(text, options)._unsafeUnwrap();
const refused = (text: string, options: AmountOptions) => parseAmount(text, options)._unsafeUnwrapErr();
const money = (minor: number, currency: CurrencyCode) => ({ minor, currency });

describe('currencies', () => {
  it('keeps amounts in the minor units people actually use', () => {
    expect(minorUnitDigits('CLP')).toBe(0);
    expect(minorUnitDigits('COP')).toBe(0);
    expect(minorUnitDigits('PYG')).toBe(0);
    for (const code of ['USD', 'EUR', 'GBP', 'MXN', 'ARS', 'PEN', 'BRL', 'UYU'] as const)
      expect(minorUnitDigits(code)).toBe(2);
  });

  it('reads configured currency codes', () => {
    expect(parseCurrencyCode('CLP')._unsafeUnwrap()).toBe('CLP');
    expect(parseCurrencyCode(' usd ')._unsafeUnwrap()).toBe('USD');
    expect(parseCurrencyCode('JPY')._unsafeUnwrapErr()).toMatchObject({
      type: 'unknown_currency',
      code: 'JPY',
    });
    expect(parseCurrencyCode('toString').isErr()).toBe(true);
    expect(parseCurrencyCode('').isErr()).toBe(true);
    expect(currencyCodes).toContain('CLP');
  });

  it('builds money from whole minor units only', () => {
    expect(moneyOf(5000, 'CLP')._unsafeUnwrap()).toEqual(money(5000, 'CLP'));
    expect(moneyOf(1.5, 'USD')._unsafeUnwrapErr().type).toBe('invalid_money');
    expect(moneyOf(2 ** 53, 'USD').isErr()).toBe(true);
    expect(moneyOf(Number.NaN, 'USD').isErr()).toBe(true);
  });
});

describe('amounts typed in Chile', () => {
  it.each([
    ['5.000', 5000],
    ['$5.000', 5000],
    ['$ 5.000', 5000],
    ['5000', 5000],
    ['1.234.567', 1_234_567],
    ['$5.000.-', 5000],
    ['5.000,00', 5000],
    ['5 mil', 5000],
    ['5mil', 5000],
    ['5 MIL', 5000],
    ['mil', 1000],
    ['mil pesos', 1000],
    ['1,5 mil', 1500],
    ['5 lucas', 5000],
    ['una luca', 1000],
    ['media luca', 500],
    ['5k', 5000],
    ['5 K', 5000],
    ['1,5 millones', 1_500_000],
    ['1.5 millones', 1_500_000],
    ['un millón', 1_000_000],
    ['un millon', 1_000_000],
    ['medio millón', 500_000],
    ['2 millones', 2_000_000],
    ['2 millones de pesos', 2_000_000],
    ['un palo', 1_000_000],
    ['5.000 pesos', 5000],
    ['5000 CLP', 5000],
    ['CLP 5.000', 5000],
    ['CLP$5.000', 5000],
    ['  5.000\n', 5000],
    ['5\u00a0mil', 5000],
  ])('%j is %i pesos', (text, minor) => {
    expect(parsed(text, chile)).toEqual(money(minor, 'CLP'));
  });

  it("reads a currency named explicitly instead of the tenant's", () => {
    expect(parsed('USD 20', chile)).toEqual(money(2000, 'USD'));
    expect(parsed('US$20,50', chile)).toEqual(money(2050, 'USD'));
    expect(parsed('20 dólares', chile)).toEqual(money(2000, 'USD'));
    expect(parsed('$20 USD', chile)).toEqual(money(2000, 'USD'));
    expect(parsed('20,5 usd', chile)).toEqual(money(2050, 'USD'));
    expect(parsed('€15', chile)).toEqual(money(1500, 'EUR'));
    expect(parsed('15 euros', chile)).toEqual(money(1500, 'EUR'));
    expect(parsed('R$ 10', chile)).toEqual(money(1000, 'BRL'));
    expect(parsed('S/ 10,50', chile)).toEqual(money(1050, 'PEN'));
    expect(parsed('20.000 ARS', chile)).toEqual(money(2_000_000, 'ARS'));
  });

  it('reads the other convention when it cannot mean anything else', () => {
    expect(parsed('US$ 5.50', chile)).toEqual(money(550, 'USD'));
    expect(parsed('1,234,567', chile)).toEqual(money(1_234_567, 'CLP'));
    expect(parsed('USD 1,234.56', chile)).toEqual(money(123_456, 'USD'));
  });
});

describe('amounts typed elsewhere', () => {
  it('reads Spanish without a country the same way', () => {
    expect(parsed('5.000', spain)).toEqual(money(500_000, 'EUR'));
    expect(parsed('5.000,50 €', spain)).toEqual(money(500_050, 'EUR'));
    expect(parsed('1,5 millones', spain)).toEqual(money(150_000_000, 'EUR'));
  });

  it('reads English with comma thousands and point decimals', () => {
    expect(parsed('5,000', us)).toEqual(money(500_000, 'USD'));
    expect(parsed('$5,000.50', us)).toEqual(money(500_050, 'USD'));
    expect(parsed('5000', us)).toEqual(money(500_000, 'USD'));
    expect(parsed('20.5', us)).toEqual(money(2050, 'USD'));
    expect(parsed('5k', us)).toEqual(money(500_000, 'USD'));
    expect(parsed('2.5k', us)).toEqual(money(250_000, 'USD'));
    expect(parsed('1.5 million', us)).toEqual(money(150_000_000, 'USD'));
    expect(parsed('a million dollars', us)).toEqual(money(100_000_000, 'USD'));
    expect(parsed('5 thousand', us)).toEqual(money(500_000, 'USD'));
    expect(parsed('£20', us)).toEqual(money(2000, 'GBP'));
  });

  it('reads "dollars" as the tenant\'s own dollar, and "$" as the local peso or dollar', () => {
    expect(parsed('20 dollars', { locale: 'en', currency: 'CAD' })).toEqual(money(2000, 'CAD'));
    expect(parsed('$20', { locale: 'en', currency: 'CAD' })).toEqual(money(2000, 'CAD'));
    expect(parsed('$20', { locale: 'es', currency: 'MXN' })).toEqual(money(2000, 'MXN'));
    expect(parsed('20 pesos', { locale: 'es', currency: 'COP' })).toEqual(money(20, 'COP'));
    expect(parsed('5 lucas', { locale: 'es', currency: 'COP' })).toEqual(money(5000, 'COP'));
  });
});

describe('amounts refused, each saying what was expected', () => {
  it('refuses empty and unreadable text', () => {
    expect(refused('', chile)).toMatchObject({ type: 'empty_amount' });
    expect(refused('   ', chile)).toMatchObject({ type: 'empty_amount' });
    for (const text of [
      'hola',
      'cinco mil',
      '5 mill',
      '$',
      'k',
      'un',
      'lucas',
      '5 000',
      '5..000',
      '5.000,',
      '5-000',
    ])
      expect(refused(text, chile)).toMatchObject({ type: 'unreadable_amount', text });
    expect(refused('hola', chile).expected).toContain('5.000');
    expect(refused('hola', us).expected).toContain('5,000');
  });

  it('refuses zero and negatives', () => {
    for (const text of ['0', '0,00', '-5000', '- $5.000', '$-5.000', '−5.000', '0 mil'])
      expect(refused(text, chile)).toMatchObject({ type: 'amount_not_positive' });
  });

  it('refuses a decimal part the currency does not have', () => {
    expect(refused('5.000,5', chile)).toMatchObject({
      type: 'too_many_decimals',
      currency: 'CLP',
      minorDigits: 0,
    });
    expect(refused('5,5', chile).type).toBe('too_many_decimals');
    expect(refused('1,2345 mil', chile).type).toBe('too_many_decimals');
    expect(refused('1,020.505', us)).toMatchObject({
      type: 'too_many_decimals',
      currency: 'USD',
      minorDigits: 2,
    });
    expect(refused('5.000,5', chile).expected).toBe('CLP has no decimals: a whole amount');
  });

  it('refuses one separator followed by three digits where it would mean a thousands group elsewhere', () => {
    expect(refused('5,000', chile)).toMatchObject({ type: 'ambiguous_separator', number: '5,000' });
    expect(refused('US$ 12,500', chile).type).toBe('ambiguous_separator');
    expect(refused('1.500', us)).toMatchObject({ type: 'ambiguous_separator', number: '1.500' });
    expect(refused('1.500', { locale: 'en', currency: 'CLP' }).type).toBe('ambiguous_separator');
    expect(refused('5,000', chile).expected).toContain('"."');
    // With a leading zero there is no thousands reading: this is half a unit.
    expect(parsed('0.500', us)).toEqual(money(50, 'USD'));
  });

  it('refuses amounts past the cap', () => {
    expect(parsed('1.000.000.000.000', chile)).toEqual(money(maxAmountMinorUnits, 'CLP'));
    expect(refused('1.000.000.000.001', chile)).toMatchObject({
      type: 'amount_too_large',
      max: money(maxAmountMinorUnits, 'CLP'),
    });
    expect(refused('USD 10.000.000.001', chile).type).toBe('amount_too_large');
    expect(refused('9'.repeat(400), chile).type).toBe('amount_too_large');
  });

  it('refuses currencies it does not keep, or that contradict each other or the tenant', () => {
    expect(refused('JPY 500', chile)).toMatchObject({ type: 'unknown_currency', code: 'JPY' });
    expect(refused('500 xyz', chile)).toMatchObject({ type: 'unknown_currency', code: 'XYZ' });
    expect(refused('USD 20 EUR', chile)).toMatchObject({
      type: 'conflicting_currencies',
      currencies: ['USD', 'EUR'],
    });
    expect(refused('$20', spain)).toMatchObject({ type: 'currency_mismatch', marker: '$', currency: 'EUR' });
    expect(refused('€20 pesos', chile)).toMatchObject({ type: 'currency_mismatch', marker: 'pesos' });
    expect(refused('20 pesos', us)).toMatchObject({ type: 'currency_mismatch', currency: 'USD' });
    expect(refused('5 lucas', us)).toMatchObject({ type: 'currency_mismatch', marker: 'lucas' });
    expect(refused('USD 5 lucas', chile)).toMatchObject({ type: 'currency_mismatch', marker: 'lucas' });
  });
});

describe('formatting', () => {
  it('writes amounts as people read them in each locale', () => {
    expect(formatMoney(money(5000, 'CLP'), 'es-CL')).toBe('$5.000');
    expect(formatMoney(money(1_234_567, 'CLP'), 'es-CL')).toBe('$1.234.567');
    expect(formatMoney(money(999, 'CLP'), 'es-CL')).toBe('$999');
    expect(formatMoney(money(2050, 'USD'), 'es-CL')).toBe('US$20,50');
    expect(formatMoney(money(123_450, 'EUR'), 'es')).toBe('€1.234,50');
    expect(formatMoney(money(5000, 'CLP'), 'es')).toBe('CLP 5.000');
    expect(formatMoney(money(500_000, 'MXN'), 'es-CL')).toBe('MXN 5.000,00');
    expect(formatMoney(money(2050, 'USD'), 'en')).toBe('$20.50');
    expect(formatMoney(money(5, 'USD'), 'en')).toBe('$0.05');
    expect(formatMoney(money(123_450, 'EUR'), 'en')).toBe('€1,234.50');
    expect(formatMoney(money(5000, 'CLP'), 'en')).toBe('CLP 5,000');
    expect(formatMoney(money(-5000, 'CLP'), 'es-CL')).toBe('-$5.000');
    expect(formatMoney(money(0, 'USD'), 'en')).toBe('$0.00');
  });
});
