import { describe, expect, it } from 'vitest';
import { timeOrderedIds } from './wiring.ts';

describe('the ids a deployment makes', () => {
  it('are version-7 UUIDs stamped with the current millisecond', () => {
    const before = Date.now();
    const id = timeOrderedIds.uuid();
    const stamped = Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    expect(id[14]).toBe('7');
    expect(stamped).toBeGreaterThanOrEqual(before);
    expect(stamped).toBeLessThanOrEqual(Date.now());
  });

  it('are unique', () => {
    const ids = Array.from({ length: 10_000 }, () => timeOrderedIds.uuid());
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('the ids one process makes', () => {
  it('sort in the order they were made, within one millisecond too (replies of one turn leave in order)', () => {
    const ids = Array.from({ length: 2_000 }, () => timeOrderedIds.uuid());
    expect([...ids].sort()).toEqual(ids);
  });
});
