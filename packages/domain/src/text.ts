import { foldTypedText } from './typed-text.ts';

/** Folded like any typed text, with punctuation dropped too: how commands typed in chat are compared. */
export const normalizeCommand = (text: string): string =>
  foldTypedText(text)
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();

const greetings = new Set(['hola', 'menu', 'inicio', 'hi', 'hello']);

/** `hola`, `menu`, `menú`, `inicio` (any case, accents, punctuation) open the main menu. */
export const isGreeting = (text: string): boolean => greetings.has(normalizeCommand(text));

/** A UTF-16 surrogate without its partner: JSON can escape one (`"\ud800"`), but no UTF-8 text holds it. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Every lone surrogate becomes U+FFFD, as a UTF-8 encoder would: PostgreSQL refuses them in jsonb. */
export const withoutLoneSurrogates = (text: string): string => text.replace(loneSurrogate, '\uFFFD');

/**
 * At most `max` code points of `text`. Cutting by UTF-16 units (`slice`) can halve an emoji, and the
 * lone surrogate left would make PostgreSQL refuse the row.
 */
export const truncateCodePoints = (text: string, max: number): string => {
  if (text.length <= max) return text;
  let end = 0;
  for (let kept = 0; kept < max && end < text.length; kept += 1) {
    end += (text.codePointAt(end) ?? 0) > 0xffff ? 2 : 1;
  }
  return text.slice(0, end);
};

/** `text` in at most `max` code points, ending in `…` when it had to be cut. */
export const ellipsize = (text: string, max: number): string => {
  return truncateCodePoints(text, max) === text ? text : `${truncateCodePoints(text, max - 1)}…`;
};
