import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { parseTenantId, timeOrderedUuid, timeOrderedUuidRandomBytes } from './ids.ts';

const anyMillis = fc.integer({ min: 0, max: 2 ** 48 - 1 });
const anyRandom = fc.uint8Array({
  minLength: timeOrderedUuidRandomBytes,
  maxLength: timeOrderedUuidRandomBytes,
});

describe('timeOrderedUuid', () => {
  test.prop([anyMillis, anyRandom])(
    'is a version-7, RFC 9562 variant UUID that the id parsers accept',
    (millis, random) => {
      const id = timeOrderedUuid(millis, random);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(parseTenantId(id).isOk()).toBe(true);
    },
  );

  test.prop([anyMillis, anyRandom])('carries its milliseconds in the first 48 bits', (millis, random) => {
    const id = timeOrderedUuid(millis, random);
    expect(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(millis);
  });

  test.prop([anyMillis, anyMillis, anyRandom, anyRandom])(
    'sorts a later millisecond after an earlier one, whatever the random bits (text order is byte order)',
    (a, b, randomA, randomB) => {
      fc.pre(a !== b);
      const [earlier, later] = a < b ? [a, b] : [b, a];
      expect(timeOrderedUuid(earlier, randomA) < timeOrderedUuid(later, randomB)).toBe(true);
    },
  );

  test.prop([anyMillis, anyRandom, anyRandom])(
    'keeps 74 random bits: different bytes give different ids',
    (millis, x, y) => {
      const keptBits = (bytes: Uint8Array) => [
        bytes[0]! & 0x0f,
        bytes[1],
        bytes[2]! & 0x3f,
        ...bytes.subarray(3, 10),
      ];
      fc.pre(keptBits(x).join() !== keptBits(y).join());
      expect(timeOrderedUuid(millis, x)).not.toBe(timeOrderedUuid(millis, y));
    },
  );

  test('refuses a time outside 48 bits and too few random bytes', () => {
    const random = new Uint8Array(timeOrderedUuidRandomBytes);
    expect(() => timeOrderedUuid(-1, random)).toThrow(RangeError);
    expect(() => timeOrderedUuid(2 ** 48, random)).toThrow(RangeError);
    expect(() => timeOrderedUuid(1.5, random)).toThrow(RangeError);
    expect(() => timeOrderedUuid(0, new Uint8Array(9))).toThrow(RangeError);
  });
});
