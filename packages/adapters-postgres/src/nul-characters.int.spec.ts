import {
  expectOk,
  fixtureUuid,
  seedTenant,
  storeInInbox,
  textInboxEntry,
} from '@prestabot/application/testing';
import type { ContactId, E164, InboundMessage } from '@prestabot/domain';
import { expect, it } from 'vitest';
import { describeOnEachDriver } from './testing/each-driver.ts';

describeOnEachDriver('NUL characters and lone surrogates (PostgreSQL stores neither)', (context) => {
  it('stores a message and a name containing NUL, with U+FFFD in its place, instead of failing every retry', async () => {
    const { storage } = context();
    const { tenant, number } = await seedTenant(storage);
    const entry = textInboxEntry(number.phoneNumberId);
    const item: InboundMessage = {
      ...(entry.item as InboundMessage),
      content: { type: 'text', body: 'hola\u0000mundo' },
    };
    await storeInInbox(storage.inboxQueue, [{ ...entry, item }]);
    const [claimed] = await expectOk(
      storage.inboxQueue.claim({ owner: 'w', limit: 1, leaseMs: 1000, now: new Date(), ids: [entry.id] }),
    );
    expect(claimed?.item).toMatchObject({ content: { type: 'text', body: 'hola\ufffdmundo' } });
    const { contact } = await expectOk(
      storage.unitOfWork.run(tenant.id, (r) =>
        r.contacts.upsert({ phone: '+56911110000' as E164, name: 'A\u0000na' }, fixtureUuid() as ContactId),
      ),
    );
    expect(contact.name).toBe('A\ufffdna');
  });

  it('stores lone surrogates, raw or escaped in JSON, as U+FFFD instead of refusing the row', async () => {
    const { storage } = context();
    const { tenant, number } = await seedTenant(storage);
    const entry = textInboxEntry(number.phoneNumberId);
    const message = entry.item as InboundMessage;
    const item: InboundMessage = {
      ...message,
      from: { ...message.from, profileName: 'Ana\ud800' },
      content: { type: 'text', body: 'hola\udc00 😀 \\ud800' },
    };
    await storeInInbox(storage.inboxQueue, [{ ...entry, item }]);
    const [claimed] = await expectOk(
      storage.inboxQueue.claim({ owner: 'w', limit: 1, leaseMs: 1000, now: new Date(), ids: [entry.id] }),
    );
    // A backslash the sender typed before "ud800" is text, not an escape, and stays as it was.
    expect(claimed?.item).toMatchObject({
      from: { profileName: 'Ana\ufffd' },
      content: { type: 'text', body: 'hola\ufffd 😀 \\ud800' },
    });
    const { contact } = await expectOk(
      storage.unitOfWork.run(tenant.id, (r) =>
        r.contacts.upsert({ phone: '+56911110001' as E164, name: 'B\udfffea' }, fixtureUuid() as ContactId),
      ),
    );
    expect(contact.name).toBe('B\ufffdea');
  });
});
