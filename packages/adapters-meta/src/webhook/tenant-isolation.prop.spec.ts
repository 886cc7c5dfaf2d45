import { createInMemoryApp, expectOk } from '@prestabot/application/testing';
import type { TenantId } from '@prestabot/domain';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ZodWebhookParser } from './parser.ts';
import { HmacSignatureVerifier, signWebhookBody } from './signature.ts';
import {
  contactOf,
  encodeJson,
  messagesChange,
  wabaEntry,
  webhookPayload,
  wireTextFrom,
} from './testing/payloads.ts';

const appSecret = 'isolation-app-secret';
const verifier = new HmacSignatureVerifier();
const parser = new ZodWebhookParser();

type World = {
  readonly tenants: readonly { readonly numbers: readonly string[] }[];
  readonly unknownNumbers: readonly string[];
  readonly deliveries: readonly (readonly {
    readonly number: number;
    readonly sender: number;
    readonly greeting: boolean;
  }[])[];
  readonly redeliver: readonly number[];
};

const senders = ['56911111111', '56922222222', '56933333333', '5511999990000', '14155550100'];

const world: fc.Arbitrary<World> = fc
  .record({
    numbersPerTenant: fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 1, maxLength: 4 }),
    unknownCount: fc.integer({ min: 0, max: 2 }),
  })
  .chain(({ numbersPerTenant, unknownCount }) => {
    let next = 100_000_000_000_000;
    const newNumber = () => {
      next += 7;
      return String(next);
    };
    const tenants = numbersPerTenant.map((count) => ({ numbers: Array.from({ length: count }, newNumber) }));
    const unknownNumbers = Array.from({ length: unknownCount }, newNumber);
    const numberCount = tenants.flatMap((tenant) => tenant.numbers).length + unknownNumbers.length;
    const item = fc.record({
      number: fc.nat({ max: numberCount - 1 }),
      sender: fc.nat({ max: senders.length - 1 }),
      greeting: fc.boolean(),
    });
    return fc.record({
      tenants: fc.constant(tenants),
      unknownNumbers: fc.constant(unknownNumbers),
      deliveries: fc.array(fc.array(item, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 }),
      redeliver: fc.array(fc.nat({ max: 3 }), { maxLength: 2 }),
    });
  });

describe('tenant isolation through the whole inbound path', () => {
  it('keeps every stored row and every reply inside the tenant of the number written to, with that number’s token', async () => {
    await fc.assert(
      fc.asyncProperty(world, async ({ tenants, unknownNumbers, deliveries, redeliver }) => {
        const app = createInMemoryApp({ verifier, parser, deploymentAppSecret: appSecret });
        const owner = new Map<string, TenantId>();
        const tokenOf = (phoneNumberId: string) => `EAAG-token-${phoneNumberId}`;
        for (const [index, tenant] of tenants.entries()) {
          const [first, ...rest] = tenant.numbers;
          const tenantId = await app.addTenant(first!, tokenOf(first!), { name: `Tenant ${index}` });
          owner.set(first!, tenantId);
          for (const phoneNumberId of rest) {
            await expectOk(
              app.manageTenants.addNumber(tenantId, {
                phoneNumberId,
                accessToken: tokenOf(phoneNumberId),
                wabaId: '102290129340398',
              }),
            );
            app.gateway.allow(phoneNumberId as never, tokenOf(phoneNumberId));
            owner.set(phoneNumberId, tenantId);
          }
        }
        const allNumbers = [...tenants.flatMap((tenant) => tenant.numbers), ...unknownNumbers];
        let wamid = 0;
        const bodies = deliveries.map((items) => {
          // Interleave: one entry per item, in the generated order, numbers mixed freely.
          const entries = items.map(({ number, sender, greeting }) => {
            wamid += 1;
            const phoneNumberId = allNumbers[number]!;
            const from = senders[sender]!;
            return wabaEntry(
              '102290129340398',
              messagesChange(
                { phoneNumberId, displayPhoneNumber: '15550000000' },
                {
                  contacts: [contactOf(from, `Person ${sender}`)],
                  messages: [wireTextFrom(from, `wamid.P${wamid}`, greeting ? 'hola' : 'otra cosa')],
                },
              ),
            );
          });
          return encodeJson(webhookPayload(...entries));
        });
        const toDeliver = [
          ...bodies,
          ...redeliver.filter((index) => index < bodies.length).map((index) => bodies[index]!),
        ];
        for (const rawBody of toDeliver) {
          await expectOk(
            app.ingestWebhook.execute({ rawBody, signature: await signWebhookBody(rawBody, appSecret) }),
          );
          await app.drain();
        }

        const inbox = app.database.inboxEntries();
        const contacts = app.database.contacts();
        // A reply leaves the queue once sent: the message log keeps it.
        const replies = app.database.outboundMessages();
        const knownMessages = new Map<string, { number: string; from: string }>();
        wamid = 0;
        for (const items of deliveries) {
          for (const { number, sender } of items) {
            wamid += 1;
            const phoneNumberId = allNumbers[number]!;
            if (owner.has(phoneNumberId))
              knownMessages.set(`wamid.P${wamid}`, { number: phoneNumberId, from: senders[sender]! });
          }
        }
        // Inbox: exactly the known numbers' messages, once each, in the owner's tenant.
        expect(inbox).toHaveLength(knownMessages.size);
        for (const entry of inbox) expect(entry.tenantId).toBe(owner.get(entry.phoneNumberId));
        // Contacts: one per (tenant, sender who wrote to one of its numbers).
        const expectedContacts = new Set(
          [...knownMessages.values()].map(({ number, from }) => `${owner.get(number)}|+${from}`),
        );
        expect(new Set(contacts.map((contact) => `${contact.tenantId}|${contact.phone}`))).toEqual(
          expectedContacts,
        );
        // Replies and sends: one per message, from the number written to, with its token, to its sender.
        expect(replies).toHaveLength(knownMessages.size);
        for (const message of replies) {
          expect(message.tenantId).toBe(owner.get(message.phoneNumberId));
          expect(contacts.find((contact) => contact.id === message.contactId)?.tenantId).toBe(
            message.tenantId,
          );
        }
        expect(app.gateway.accepted).toHaveLength(knownMessages.size);
        const repliedTo = new Set(
          [...knownMessages.values()].map(({ number, from }) => `${number}|+${from}`),
        );
        for (const send of app.gateway.accepted) {
          expect(owner.has(send.phoneNumberId)).toBe(true);
          expect(send.accessToken).toBe(tokenOf(send.phoneNumberId));
          expect(
            repliedTo.has(
              `${send.phoneNumberId}|${send.recipient !== undefined && 'phone' in send.recipient ? send.recipient.phone : ''}`,
            ),
          ).toBe(true);
        }
        // Unknown numbers left no trace anywhere.
        for (const phoneNumberId of unknownNumbers) {
          expect(inbox.some((entry) => entry.phoneNumberId === phoneNumberId)).toBe(false);
          expect(app.gateway.attempts.some((send) => send.phoneNumberId === phoneNumberId)).toBe(false);
        }
      }),
      { numRuns: 1000 },
    );
  }, 300_000);
});
