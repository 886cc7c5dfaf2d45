import { err, ok, type Result } from './result.ts';
import type { Locale } from './tenant.ts';
import { foldTypedText } from './typed-text.ts';

type CurrencyFacts = {
  /** Digits kept after the decimal point: `minor` counts units of 10^-minorDigits. */
  readonly minorDigits: 0 | 2;
  /** Pesos and dollars are written with a bare `$` where they are the local currency. */
  readonly kind: 'peso' | 'dollar' | 'other';
  /** Whether "lucas" (thousands) and "palos" (millions) mean this currency's units. */
  readonly slang?: true;
  /** A sign that names this currency alone, written before the amount. */
  readonly symbol?: string;
  /** Other ways people write this currency next to an amount, folded (lower case, no accents). */
  readonly aliases?: readonly string[];
};

/**
 * The currencies a Latin-American or English-speaking deployment meets, with their minor units.
 * ISO 4217 digits, except COP: ISO says 2, but centavos have not circulated for decades, prices and
 * transfers are whole pesos and CLDR writes none, so a loan of "50.000" COP is kept as 50000. Anything
 * that needs ISO digits (a payment processor) converts at its own boundary.
 */
const currencyTable = {
  CLP: { minorDigits: 0, kind: 'peso', slang: true },
  COP: { minorDigits: 0, kind: 'peso', slang: true },
  ARS: { minorDigits: 2, kind: 'peso', slang: true },
  MXN: { minorDigits: 2, kind: 'peso', aliases: ['mx$'] },
  UYU: { minorDigits: 2, kind: 'peso', aliases: ['$u'] },
  DOP: { minorDigits: 2, kind: 'peso', aliases: ['rd$'] },
  USD: { minorDigits: 2, kind: 'dollar', symbol: 'US$', aliases: ['us$', 'u$s'] },
  CAD: { minorDigits: 2, kind: 'dollar' },
  AUD: { minorDigits: 2, kind: 'dollar' },
  EUR: { minorDigits: 2, kind: 'other', symbol: '€', aliases: ['€', 'euro', 'euros'] },
  GBP: { minorDigits: 2, kind: 'other', symbol: '£', aliases: ['£', 'pound', 'pounds', 'libra', 'libras'] },
  BRL: { minorDigits: 2, kind: 'other', symbol: 'R$', aliases: ['r$', 'real', 'reais', 'reales'] },
  PEN: { minorDigits: 2, kind: 'other', aliases: ['s/', 's/.', 'sol', 'soles'] },
  PYG: { minorDigits: 0, kind: 'other', aliases: ['₲', 'guarani', 'guaranies'] },
  BOB: { minorDigits: 2, kind: 'other' },
  CRC: { minorDigits: 2, kind: 'other', aliases: ['₡'] },
  GTQ: { minorDigits: 2, kind: 'other' },
} as const satisfies Record<string, CurrencyFacts>;

/** ISO 4217 code of a currency this deployment keeps amounts in. */
export type CurrencyCode = keyof typeof currencyTable;

const facts = (currency: CurrencyCode): CurrencyFacts => currencyTable[currency];

export const currencyCodes = Object.keys(currencyTable) as readonly CurrencyCode[];

/** An amount in integer minor units (cents; whole pesos for CLP), a safe integer. */
export type Money = { readonly minor: number; readonly currency: CurrencyCode };

/** 10^12 minor units: a trillion pesos, ten billion dollars. Larger is a typo, not a loan. */
export const maxAmountMinorUnits = 1_000_000_000_000;

export type UnknownCurrency = {
  readonly type: 'unknown_currency';
  readonly code: string;
  readonly expected: string;
};
export type InvalidMoney = {
  readonly type: 'invalid_money';
  readonly minor: number;
  readonly expected: string;
};

export type AmountError =
  | { readonly type: 'empty_amount'; readonly expected: string }
  | { readonly type: 'unreadable_amount'; readonly text: string; readonly expected: string }
  | { readonly type: 'amount_not_positive'; readonly expected: string }
  | { readonly type: 'ambiguous_separator'; readonly number: string; readonly expected: string }
  | {
      readonly type: 'too_many_decimals';
      readonly currency: CurrencyCode;
      readonly minorDigits: number;
      readonly expected: string;
    }
  | { readonly type: 'amount_too_large'; readonly max: Money; readonly expected: string }
  | UnknownCurrency
  | {
      readonly type: 'currency_mismatch';
      readonly marker: string;
      readonly currency: CurrencyCode;
      readonly expected: string;
    }
  | {
      readonly type: 'conflicting_currencies';
      readonly currencies: readonly CurrencyCode[];
      readonly expected: string;
    };

const isCurrencyCode = (code: string): code is CurrencyCode => Object.hasOwn(currencyTable, code);

export const minorUnitDigits = (currency: CurrencyCode): number => facts(currency).minorDigits;

/** Reads a currency code as configured (`CLP`, `usd`): a tenant's default currency, say. */
export const parseCurrencyCode = (text: string): Result<CurrencyCode, UnknownCurrency> => {
  const code = text.trim().toUpperCase();
  return isCurrencyCode(code)
    ? ok(code)
    : err({ type: 'unknown_currency', code, expected: `one of ${currencyCodes.join(', ')}` });
};

export const moneyOf = (minor: number, currency: CurrencyCode): Result<Money, InvalidMoney> =>
  Number.isSafeInteger(minor)
    ? ok({ minor, currency })
    : err({ type: 'invalid_money', minor, expected: 'a whole number of minor units (a safe integer)' });

type Separators = { readonly group: '.' | ','; readonly decimal: '.' | ',' };

const separatorsOf: Record<Locale, Separators> = {
  'es-CL': { group: '.', decimal: ',' },
  es: { group: '.', decimal: ',' },
  en: { group: ',', decimal: '.' },
};

/** The currency each locale writes with a bare `$`; every other one gets its own sign or its code. */
const bareDollarCurrency: Record<Locale, CurrencyCode | undefined> = {
  'es-CL': 'CLP',
  es: undefined,
  en: 'USD',
};

const groupThousands = (digits: string, group: string): string => digits.replace(/\B(?=(\d{3})+$)/g, group);

/**
 * As people read amounts: `$5.000` (CLP in es-CL), `US$20,50`, `€1.234,50`, `MXN 5.000,00` in Spanish;
 * `$20.50`, `€1,234.50`, `CLP 5,000` in English. Always every minor digit, always grouped thousands,
 * and never a bare `$` that could be read as another currency: `es` (no country) writes `CLP 5.000`.
 */
export const formatMoney = (money: Money, locale: Locale): string => {
  const { minorDigits, symbol } = facts(money.currency);
  const { group, decimal } = separatorsOf[locale];
  const digits = String(Math.abs(money.minor)).padStart(minorDigits + 1, '0');
  const integer = groupThousands(digits.slice(0, digits.length - minorDigits), group);
  const number = minorDigits > 0 ? `${integer}${decimal}${digits.slice(-minorDigits)}` : integer;
  const sign = money.minor < 0 ? '-' : '';
  if (bareDollarCurrency[locale] === money.currency) return `${sign}$${number}`;
  if (symbol !== undefined) return `${sign}${symbol}${number}`;
  return `${sign}${money.currency} ${number}`;
};

/** What a sign or word next to the number says about the currency. */
type Marker =
  | { readonly kind: 'code'; readonly code: CurrencyCode }
  | { readonly kind: 'unknown_code'; readonly code: string }
  /** `$`: whichever peso or dollar is at hand. */
  | { readonly kind: 'dollar_sign' }
  /** "pesos": whichever peso is at hand. */
  | { readonly kind: 'peso_word' }
  /** "dólares": the tenant's dollar if it has one, else the US dollar, as in Latin America. */
  | { readonly kind: 'dollar_word' };

const markerWords = new Map<string, Marker>([
  ['$', { kind: 'dollar_sign' }],
  ...['peso', 'pesos'].map((word): [string, Marker] => [word, { kind: 'peso_word' }]),
  ...['dolar', 'dolares', 'dollar', 'dollars'].map((word): [string, Marker] => [
    word,
    { kind: 'dollar_word' },
  ]),
  ...currencyCodes.flatMap((code) =>
    (facts(code).aliases ?? []).map((alias): [string, Marker] => [alias, { kind: 'code', code }]),
  ),
]);

type Multiplier = { readonly factor: bigint; readonly slang?: true };

const multipliers = new Map<string, Multiplier>([
  ...['mil', 'k', 'thousand'].map((word): [string, Multiplier] => [word, { factor: 1_000n }]),
  ...['millon', 'millones', 'million', 'millions'].map((word): [string, Multiplier] => [
    word,
    { factor: 1_000_000n },
  ]),
  ...['luca', 'lucas'].map((word): [string, Multiplier] => [word, { factor: 1_000n, slang: true }]),
  ...['palo', 'palos'].map((word): [string, Multiplier] => [word, { factor: 1_000_000n, slang: true }]),
]);

/** A decimal number as typed: `units / 10^scale`, kept exact. */
type Decimal = { readonly units: bigint; readonly scale: number };

const numberWords = new Map<string, Decimal>([
  ...['un', 'una', 'uno', 'one', 'a'].map((word): [string, Decimal] => [word, { units: 1n, scale: 0 }]),
  ...['medio', 'media'].map((word): [string, Decimal] => [word, { units: 5n, scale: 1 }]),
]);

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const alternation = (words: Iterable<string>): string =>
  [...words]
    .sort((a, b) => b.length - a.length)
    .map(escapeRegExp)
    .join('|');

// Any three letters may be a currency code ("JPY 500" deserves "unknown currency", not "unreadable"),
// except the three-letter words that belong to the amount itself.
const threeLetterWords = [...numberWords.keys(), ...multipliers.keys()].filter((word) => word.length === 3);
const markerSource = `${alternation(markerWords.keys())}|(?!(?:${threeLetterWords.join('|')})(?![a-z]))[a-z]{3}(?![a-z])\\$?`;
const amountPattern = new RegExp(
  [
    '^',
    '(?:(?<minusFirst>[-−–]) ?)?',
    `(?:(?<lead>${markerSource}) ?)?`,
    '(?:(?<minus>[-−–]) ?)?',
    `(?:(?<number>\\d[\\d.,]*-?|(?:${alternation(numberWords.keys())})(?![a-z])) ?)?`,
    `(?:(?<multiplier>${alternation(multipliers.keys())})(?![a-z])(?: de)? ?)?`,
    `(?<trail>${markerSource})?`,
    '$',
  ].join(''),
);

const markerOf = (text: string): Marker => {
  const known = markerWords.get(text);
  if (known !== undefined) return known;
  const code = text.replace(/\$$/, '').toUpperCase();
  return isCurrencyCode(code) ? { kind: 'code', code } : { kind: 'unknown_code', code };
};

const examples: Record<Locale, string> = {
  'es-CL': '5.000, $5.000, 5 mil, 5 lucas, 1,5 millones or USD 20',
  es: '5.000, 5.000,50, 5 mil, 1,5 millones or USD 20',
  en: '5,000, $5,000.50, 5k, 1.5 million or USD 20',
};

type WithoutExpected<T> = T extends unknown ? Omit<T, 'expected'> : never;
type Problem = WithoutExpected<AmountError>;

const failure = (problem: Problem, locale: Locale): Result<never, AmountError> => {
  const { group, decimal } = separatorsOf[locale];
  const expected = ((): string => {
    switch (problem.type) {
      case 'empty_amount':
      case 'unreadable_amount':
        return `an amount such as ${examples[locale]}`;
      case 'amount_not_positive':
        return 'an amount greater than zero';
      case 'ambiguous_separator':
        return `thousands written with "${group}" and decimals with "${decimal}", at most two decimals`;
      case 'too_many_decimals':
        return problem.minorDigits === 0
          ? `${problem.currency} has no decimals: a whole amount`
          : `${problem.currency} has at most ${problem.minorDigits} decimals`;
      case 'amount_too_large':
        return `at most ${formatMoney(problem.max, locale)}`;
      case 'unknown_currency':
        return `one of ${currencyCodes.join(', ')}`;
      case 'currency_mismatch':
        return `"${problem.marker}" does not go with ${problem.currency}: write the currency code, e.g. USD 20`;
      case 'conflicting_currencies':
        return 'one currency';
    }
  })();
  return err({ ...problem, expected } as AmountError);
};

/** The currency the signs and words around the number name, or the tenant's when they name none. */
const currencyFrom = (
  markerTexts: readonly string[],
  fallback: CurrencyCode,
): Result<CurrencyCode, Problem> => {
  const markers = markerTexts.map(markerOf);
  const named = new Set<CurrencyCode>();
  for (const marker of markers) {
    if (marker.kind === 'unknown_code') return err({ type: 'unknown_currency', code: marker.code });
    if (marker.kind === 'code') named.add(marker.code);
    if (marker.kind === 'dollar_word') named.add(facts(fallback).kind === 'dollar' ? fallback : 'USD');
  }
  if (named.size > 1) return err({ type: 'conflicting_currencies', currencies: [...named] });
  const currency = [...named][0] ?? fallback;
  const { kind } = facts(currency);
  const misfit = markers.findIndex(
    (marker) =>
      (marker.kind === 'dollar_sign' && kind === 'other') || (marker.kind === 'peso_word' && kind !== 'peso'),
  );
  const marker = markerTexts[misfit];
  return marker === undefined ? ok(currency) : err({ type: 'currency_mismatch', marker, currency });
};

const groupedIntegers = {
  '.': /^[1-9]\d{0,2}(?:\.\d{3})+$/,
  ',': /^[1-9]\d{0,2}(?:,\d{3})+$/,
} as const;

/** One separator and three digits after it: a thousands group if that separator is the group one. */
const oneGroupOfThree = {
  '.': /^[1-9]\d{0,2}\.\d{3}$/,
  ',': /^[1-9]\d{0,2},\d{3}$/,
} as const;

/** `raw` read with one convention, or undefined when it is not a well-formed number in it. */
const readWith = (raw: string, { group, decimal }: Separators): Decimal | undefined => {
  const [integer = '', fraction, ...more] = raw.split(decimal);
  if (more.length > 0) return undefined;
  const integerOk = integer.includes(group) ? groupedIntegers[group].test(integer) : /^\d+$/.test(integer);
  if (!integerOk || (fraction !== undefined && !/^\d+$/.test(fraction))) return undefined;
  return { units: BigInt(integer.replaceAll(group, '') + (fraction ?? '')), scale: fraction?.length ?? 0 };
};

type NumberReading = Decimal | 'ambiguous' | 'malformed';

/**
 * The locale's convention first: "5.000" is five thousand in Spanish. A number that is only
 * well-formed in the other convention is read that way when it cannot mean anything else ("5.50" in
 * es-CL has no thousands group, so it is five and a half), but never with more than two decimals.
 * One decimal separator followed by exactly three digits ("5,000" in es-CL, "1.500" in en) is a
 * thousands group in the other convention, so it is refused rather than guessed.
 */
const readNumber = (raw: string, locale: Locale): NumberReading => {
  // "$5.000.-" is how Chileans write "and no cents".
  const number = /[.,]-$/.test(raw) ? raw.slice(0, -2) : raw;
  const local = separatorsOf[locale];
  const asLocal = readWith(number, local);
  if (asLocal !== undefined) return oneGroupOfThree[local.decimal].test(number) ? 'ambiguous' : asLocal;
  const asOther = readWith(number, { group: local.decimal, decimal: local.group });
  return asOther !== undefined && asOther.scale <= 2 ? asOther : 'malformed';
};

const one: Decimal = { units: 1n, scale: 0 };

/** The number before the multiplier: a bare "mil" is a thousand; "un" and "medio" need a multiplier. */
const readValue = (
  number: string | undefined,
  multiplier: string | undefined,
  locale: Locale,
): NumberReading => {
  if (number === undefined) return multiplier === 'mil' ? one : 'malformed';
  const word = numberWords.get(number);
  if (word !== undefined) return multiplier === undefined ? 'malformed' : word;
  return readNumber(number, locale);
};

export type AmountOptions = {
  readonly locale: Locale;
  /** The tenant's currency: what an amount without a currency sign or code is in. */
  readonly currency: CurrencyCode;
};

/**
 * Reads an amount as people type it in chat: `5.000`, `$5.000`, `5.000,50`, `1.234.567` (es-CL, es);
 * `5,000.50` (en); `5000` anywhere; `5 mil`, `5mil`, `5k`, `5 lucas`, `un palo`, `1,5 millones`,
 * `un millón`, `medio millón`, `2 millones de pesos`; a currency sign, code or name before or after
 * (`USD 20`, `US$20`, `20 dólares`, `€20`). A currency named explicitly wins over the tenant's.
 * Never throws: anything else is an `AmountError` saying what was expected.
 */
export const parseAmount = (
  text: string,
  { locale, currency }: AmountOptions,
): Result<Money, AmountError> => {
  const folded = foldTypedText(text);
  if (folded === '') return failure({ type: 'empty_amount' }, locale);
  const groups = amountPattern.exec(folded)?.groups;
  if (groups === undefined) return failure({ type: 'unreadable_amount', text }, locale);
  const { minusFirst, lead, minus, number, multiplier: multiplierWord, trail } = groups;
  if (minusFirst !== undefined || minus !== undefined)
    return failure({ type: 'amount_not_positive' }, locale);
  const value = readValue(number, multiplierWord, locale);
  if (value === 'malformed') return failure({ type: 'unreadable_amount', text }, locale);
  if (value === 'ambiguous') return failure({ type: 'ambiguous_separator', number: number ?? '' }, locale);

  const resolved = currencyFrom(
    [lead, trail].filter((marker) => marker !== undefined),
    currency,
  );
  if (resolved.isErr()) return failure(resolved.error, locale);
  const amountCurrency = resolved.value;
  const multiplier = multiplierWord === undefined ? undefined : multipliers.get(multiplierWord);
  if (multiplier?.slang === true && facts(amountCurrency).slang !== true)
    return failure(
      { type: 'currency_mismatch', marker: multiplierWord ?? '', currency: amountCurrency },
      locale,
    );

  const { minorDigits } = facts(amountCurrency);
  const scaled = value.units * (multiplier?.factor ?? 1n) * 10n ** BigInt(minorDigits);
  const divisor = 10n ** BigInt(value.scale);
  // Trailing zeros are exact ("5.000,00" CLP is 5.000); a digit below the minor unit is not.
  if (scaled % divisor !== 0n)
    return failure({ type: 'too_many_decimals', currency: amountCurrency, minorDigits }, locale);
  const minor = scaled / divisor;
  if (minor === 0n) return failure({ type: 'amount_not_positive' }, locale);
  if (minor > BigInt(maxAmountMinorUnits))
    return failure(
      { type: 'amount_too_large', max: { minor: maxAmountMinorUnits, currency: amountCurrency } },
      locale,
    );
  return ok({ minor: Number(minor), currency: amountCurrency });
};
