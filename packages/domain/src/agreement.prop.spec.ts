import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { act, borrower, lender, loan, stranger } from './agreement.fixture.ts';
import { agreementActions, isFinal } from './agreement.ts';

describe('agreement lifecycle', () => {
  test.prop(
    [
      fc.array(
        fc.record({
          who: fc.constantFrom(lender, borrower, stranger),
          action: fc.constantFrom(...agreementActions),
        }),
        { maxLength: 12 },
      ),
    ],
    { numRuns: 1000 },
  )('never leaves a final state, and only the lender ends an active loan', (steps) => {
    let current = loan;
    for (const { who, action } of steps) {
      const result = act(current, who, action);
      if (result.isErr()) continue;
      const next = result.value;
      if (isFinal(current.status)) throw new Error('a final loan changed');
      if (current.status === 'active' && isFinal(next.status)) expect(who).toBe(lender);
      if (next.status === 'active' && current.status === 'pending_confirmation') expect(who).toBe(borrower);
      current = next;
    }
  });
});
