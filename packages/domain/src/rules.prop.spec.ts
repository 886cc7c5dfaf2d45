import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { advanceStatus, type DeliveryStatus } from './delivery-status.ts';
import { maskSecret } from './secrets.ts';
import { normalizeCommand } from './text.ts';

const statuses: DeliveryStatus[] = ['queued', 'accepted', 'sent', 'delivered', 'read', 'played', 'failed'];

describe('delivery status ordering', () => {
  test.prop([fc.constantFrom(...statuses), fc.array(fc.constantFrom(...statuses))], { numRuns: 1000 })(
    'ends where the furthest status in the sequence points, whatever the arrival order',
    (start, arrivals) => {
      const end = arrivals.reduce(advanceStatus, start);
      const all = [start, ...arrivals];
      if (all.includes('failed')) expect(end).toBe('failed');
      else expect(statuses.indexOf(end)).toBe(Math.max(...all.map((status) => statuses.indexOf(status))));
      const shuffled = [...arrivals].reverse().reduce(advanceStatus, start);
      expect(shuffled).toBe(end);
    },
  );
});

describe('secret masking', () => {
  test.prop([fc.string({ unit: 'grapheme', minLength: 1 })], { numRuns: 1000 })(
    'never shows more than four characters of a secret',
    (secret) => {
      const masked = maskSecret(secret);
      const shown = masked.slice(0, masked.indexOf('…'));
      expect([...shown].length).toBeLessThanOrEqual(4);
      if ([...secret].length < 16) expect(shown).toBe('');
      expect(masked).toContain(`(${[...secret].length} chars)`);
    },
  );
});

describe('command normalisation', () => {
  test.prop([fc.string({ unit: 'grapheme' })], { numRuns: 1000 })('is total and idempotent', (text) => {
    const once = normalizeCommand(text);
    expect(normalizeCommand(once)).toBe(once);
  });
});
