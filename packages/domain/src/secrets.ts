/**
 * What may be shown of a secret: a short prefix and its length. Never more, whatever its length, so a
 * short secret is not revealed by its prefix.
 */
export const maskSecret = (secret: string): string => {
  const length = [...secret].length;
  if (length === 0) return '(empty)';
  const shown = length >= 16 ? 4 : 0;
  return `${[...secret].slice(0, shown).join('')}…(${length} chars)`;
};
