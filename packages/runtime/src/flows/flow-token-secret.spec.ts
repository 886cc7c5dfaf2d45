import { describe, expect, it } from 'vitest';
import { flowTokenSecret } from './flow-token-secret.ts';

describe('the flow-token key', () => {
  const key = btoa('k'.repeat(32));

  it('is derived from the encryption key as the cipher reads it: surrounding whitespace does not count', async () => {
    const clean = await flowTokenSecret({ current: key });
    expect(clean).toBeDefined();
    for (const padded of [`${key}\n`, ` ${key}`, `\t${key}\r\n`])
      expect(await flowTokenSecret({ current: padded }), JSON.stringify(padded)).toEqual(clean);
  });

  it('differs between keys, and is absent without a current key', async () => {
    expect(await flowTokenSecret({ current: btoa('j'.repeat(32)) })).not.toEqual(
      await flowTokenSecret({ current: key }),
    );
    expect(await flowTokenSecret({})).toBeUndefined();
    expect(await flowTokenSecret({ current: '  ' })).toBeUndefined();
  });
});
