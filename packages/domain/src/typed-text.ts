/**
 * Lower case, accents removed (`millón` → `millon`, `mañana` → `manana`), runs of any whitespace
 * (including the no-break spaces phones insert) made one space, ends trimmed. Symbols and
 * punctuation stay: amounts and dates are made of them.
 */
export const foldTypedText = (text: string): string =>
  text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
