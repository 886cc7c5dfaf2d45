import { describe, expect, it } from 'vitest';
import type { Wamid } from './ids.ts';
import {
  buttonsMessage,
  charCount,
  flowMessage,
  listMessage,
  messageLimits,
  reactionMessage,
  templateMessage,
  textMessage,
} from './outbound.ts';

const rows = (count: number, prefix = 'r') =>
  Array.from({ length: count }, (_, index) => ({ id: `${prefix}${index}`, title: `Row ${index}` }));

describe('outbound message limits', () => {
  it('counts characters, not UTF-16 units', () => {
    expect(charCount('👍👍')).toBe(2);
    expect(textMessage('🦩'.repeat(messageLimits.textBody)).isOk()).toBe(true);
    expect(textMessage('🦩'.repeat(messageLimits.textBody + 1))._unsafeUnwrapErr()).toMatchObject({
      field: 'body',
    });
  });

  it('refuses an empty text', () => {
    expect(textMessage('')._unsafeUnwrapErr()).toEqual({
      type: 'message_limit_violation',
      field: 'body',
      rule: 'must not be empty',
    });
  });

  it('allows one to three reply buttons with unique ids and titles of at most 20 characters', () => {
    const button = (id: string, title = id) => ({ id, title });
    expect(buttonsMessage({ body: 'b', buttons: [button('a'), button('b'), button('c')] }).isOk()).toBe(true);
    expect(buttonsMessage({ body: 'b', buttons: [] })._unsafeUnwrapErr().field).toBe('buttons');
    expect(
      buttonsMessage({
        body: 'b',
        buttons: [button('a'), button('b'), button('c'), button('d')],
      })._unsafeUnwrapErr().field,
    ).toBe('buttons');
    expect(
      buttonsMessage({ body: 'b', buttons: [button('a', 'x'.repeat(21))] })._unsafeUnwrapErr().field,
    ).toBe('buttons[0].title');
    expect(
      buttonsMessage({ body: 'b', buttons: [button('a', 'Sí'), button('a', 'No')] })._unsafeUnwrapErr().rule,
    ).toMatch(/ids must be unique/);
    expect(buttonsMessage({ body: 'b', buttons: [button(' a')] })._unsafeUnwrapErr().rule).toMatch(/spaces/);
    expect(buttonsMessage({ body: 'x'.repeat(1025), buttons: [button('a')] })._unsafeUnwrapErr().field).toBe(
      'body',
    );
    expect(
      buttonsMessage({ body: 'b', header: 'h'.repeat(61), buttons: [button('a')] })._unsafeUnwrapErr().field,
    ).toBe('header');
  });

  it('allows at most ten rows across all sections, and needs section titles when there are several', () => {
    const list = (sections: Parameters<typeof listMessage>[0]['sections']) =>
      listMessage({ body: 'b', buttonLabel: 'Ver', sections });
    expect(list([{ rows: rows(10) }]).isOk()).toBe(true);
    expect(
      list([
        { title: 'A', rows: rows(6, 'a') },
        { title: 'B', rows: rows(5, 'b') },
      ])._unsafeUnwrapErr().rule,
    ).toMatch(/10 rows in total/);
    expect(list([{ rows: rows(2, 'a') }, { title: 'B', rows: rows(2, 'b') }])._unsafeUnwrapErr().field).toBe(
      'sections[0].title',
    );
    expect(list([{ rows: [{ id: 'x', title: 't'.repeat(25) }] }])._unsafeUnwrapErr().field).toBe(
      'sections[0].rows[0].title',
    );
    expect(
      list([{ rows: [{ id: 'x', title: 't', description: 'd'.repeat(73) }] }])._unsafeUnwrapErr().field,
    ).toBe('sections[0].rows[0].description');
    expect(
      list([
        { title: 'A', rows: [{ id: 'x', title: 'a' }] },
        { title: 'B', rows: [{ id: 'x', title: 'b' }] },
      ])._unsafeUnwrapErr().rule,
    ).toMatch(/row ids must be unique/);
  });

  it('checks Flow messages: a call to action of at most 20 characters and no emoji', () => {
    const flow = (cta: string) =>
      flowMessage({
        body: 'b',
        flowId: '123',
        flowToken: 't',
        cta,
        mode: 'published',
        action: { type: 'navigate', screen: 'PROFILE' },
      });
    expect(flow('Mi perfil').isOk()).toBe(true);
    expect(flow('Mi perfil 👤')._unsafeUnwrapErr().rule).toMatch(/emoji/);
    expect(flow('x'.repeat(21))._unsafeUnwrapErr().field).toBe('cta');
  });

  it('checks templates: name, language, and named parameters', () => {
    const ok = templateMessage({
      name: 'loan_reminder',
      language: 'es_CL',
      components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana', name: 'borrower' }] }],
    });
    expect(ok.isOk()).toBe(true);
    expect(
      templateMessage({ name: 'Loan Reminder', language: 'es', components: [] })._unsafeUnwrapErr().field,
    ).toBe('name');
    expect(templateMessage({ name: 'x', language: 'spanish', components: [] })._unsafeUnwrapErr().field).toBe(
      'language',
    );
    const mixed = templateMessage({
      name: 'x',
      language: 'es',
      components: [
        {
          type: 'body',
          parameters: [
            { type: 'text', text: 'a', name: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
      ],
    });
    expect(mixed._unsafeUnwrapErr().rule).toMatch(/all named or all positional/);
    const badName = templateMessage({
      name: 'x',
      language: 'es',
      components: [{ type: 'body', parameters: [{ type: 'text', text: 'a', name: 'Borrower1' }] }],
    });
    expect(badName._unsafeUnwrapErr().field).toBe('components[0].parameters[0].name');
  });

  it('allows one emoji as a reaction, or none to remove it', () => {
    const wamid = 'wamid.x' as Wamid;
    expect(reactionMessage(wamid, '👍').isOk()).toBe(true);
    expect(reactionMessage(wamid, '').isOk()).toBe(true);
    expect(reactionMessage(wamid, 'ok').isErr()).toBe(true);
  });
});
