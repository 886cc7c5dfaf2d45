import { fc, test } from '@fast-check/vitest';
import {
  type ContactId,
  defaultTenantSettings,
  type E164,
  formatMoney,
  type Locale,
  type OutboundMessage,
  parseAmount,
  parseTimeZone,
  type TenantId,
} from '@prestabot/domain';
import { expect } from 'vitest';
import type { ConversationState } from './conversation-state.ts';
import { advance, type DraftContext, type Input, inputOf } from './draft.ts';

const contextIn = (locale: Locale): DraftContext => ({
  tenant: {
    id: '00000000-0000-4000-8000-000000000001' as TenantId,
    name: 'A',
    timezone: parseTimeZone('America/Santiago')._unsafeUnwrap(),
    locale,
    status: 'active',
    settings: defaultTenantSettings,
  },
  contact: {
    id: '00000000-0000-4000-8000-000000000002' as ContactId,
    tenantId: '00000000-0000-4000-8000-000000000001' as TenantId,
    phone: '+56911111111' as E164,
    name: 'Ana',
    optedOut: false,
  },
  now: new Date('2026-03-02T12:00:00.000Z'),
});

const borrower = { name: 'Bea', phone: '+56922222222' as E164 };
const money = {
  kind: 'money',
  amount: parseAmount('5000', { locale: 'es-CL', currency: 'CLP' })._unsafeUnwrap(),
};
const draftId = '00000000-0000-4000-8000-0000000000d1';

/** A draft at every step, filled in as far as that step needs. */
const states: readonly ConversationState[] = [
  { flow: 'new_loan', step: 'borrower', draft: { id: draftId } },
  { flow: 'new_loan', step: 'borrower_phone', draft: { id: draftId, borrowerName: 'Bea' } },
  { flow: 'new_loan', step: 'kind', draft: { id: draftId, borrower } },
  { flow: 'new_loan', step: 'amount', draft: { id: draftId, borrower } },
  { flow: 'new_loan', step: 'description', draft: { id: draftId, borrower } },
  { flow: 'new_loan', step: 'due_date', draft: { id: draftId, borrower, subject: money } },
  {
    flow: 'new_loan',
    step: 'confirm',
    draft: { id: draftId, borrower, subject: money, dueDate: { year: 2026, month: 3, day: 9 } },
  },
] as ConversationState[];

const locales = fc.constantFrom<Locale>('es-CL', 'en');
const bodyOf = (message: OutboundMessage): string =>
  'body' in message && typeof message.body === 'string' ? message.body : '';

/** What no step can use: no text at all, or only spaces. */
const unusable = fc.constantFrom<Input>({ kind: 'other' }, inputOf({ type: 'text', body: '   ' }));

test.prop([fc.constantFrom(...states), locales, unusable])(
  'an input the step cannot use keeps the draft where it was and answers something',
  (state, locale, input) => {
    const step = advance(state, input, undefined, contextIn(locale));
    expect('record' in step).toBe(false);
    if ('record' in step) return;
    expect(step.next).toEqual(state);
    expect(step.replies.length).toBeGreaterThan(0);
  },
);

test.prop([fc.integer({ min: 1, max: 999_999_999 }), locales])(
  'any amount the parser accepts reaches the summary as the parser read it',
  (value, locale) => {
    const context = contextIn(locale);
    const typed = formatMoney(
      parseAmount(String(value), { locale, currency: 'CLP' })._unsafeUnwrap(),
      locale,
    );
    const parsed = parseAmount(typed, { locale, currency: 'CLP' });
    const atAmount = advance(states[3]!, { kind: 'text', text: typed, command: typed }, undefined, context);
    if (parsed.isErr()) {
      expect(atAmount).toMatchObject({ next: states[3] });
      return;
    }
    expect(atAmount).toMatchObject({
      next: { step: 'due_date', draft: { subject: { kind: 'money', amount: parsed.value } } },
    });
    if ('record' in atAmount || atAmount.next === undefined) return;
    const atSummary = advance(atAmount.next, { kind: 'other' }, { step: 'due', option: 'one_week' }, context);
    if ('record' in atSummary) throw new Error('the due date step recorded the loan');
    expect(bodyOf(atSummary.replies[0]!)).toContain(formatMoney(parsed.value, locale));
  },
);

test.prop([locales])('confirming a complete draft records it as it stands', (locale) => {
  const confirm = states[6]!;
  const step = advance(confirm, { kind: 'other' }, { step: 'confirm' }, contextIn(locale));
  expect(step).toEqual({ record: confirm.draft });
});
