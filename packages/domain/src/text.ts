/** Lower case, accents and surrounding punctuation removed: how commands typed in chat are compared. */
export const normalizeCommand = (text: string): string =>
  text
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();

const greetings = new Set(['hola', 'menu', 'inicio', 'hi', 'hello']);

/** `hola`, `menu`, `menú`, `inicio` (any case, accents, punctuation) open the main menu. */
export const isGreeting = (text: string): boolean => greetings.has(normalizeCommand(text));
