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
