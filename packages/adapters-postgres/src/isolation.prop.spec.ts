import type {
  ClaimedStatusEntry,
  NewInboxEntry,
  NewReminder,
  StorageError,
  StoredFlowKey,
  TenantRepositories,
} from '@prestabot/application';
import {
  expectErr,
  expectOk,
  fixtureNumber,
  fixtureTenant,
  statusInboxEntry,
  textInboxEntry,
  textOutboxEntry,
} from '@prestabot/application/testing';
import {
  type Agreement,
  type AgreementId,
  type Contact,
  type ContactId,
  defined,
  type E164,
  errAsync,
  ok,
  type PhoneNumberId,
  type Result,
  ResultAsync,
  safeTry,
  type Tenant,
  type TenantId,
  type Wamid,
} from '@prestabot/domain';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { PostgresInboxQueue } from './queues.ts';
import { tenantRepositoriesOf } from './repositories/unit-of-work.ts';
import { tenantScope } from './sql/scopes.ts';
import type { SqlDriver, SqlRow } from './sql/sql-driver.ts';
import type { PostgresStorage } from './storage.ts';
import { describeOnEachDriver } from './testing/each-driver.ts';
import { queryIn, tenantTablesSql } from './testing/raw-sql.ts';

// Acting as tenant A through the application role, nothing reaches tenant B: no repository call (not even
// one holding the lease B's rows are under), and no raw SELECT, UPDATE or DELETE written without a tenant
// filter, over every tenant table the catalog lists; and a row of A can never point at a row of B. Each run
// seeds two random tenants.

const runs = Number(process.env.ISOLATION_RUNS ?? 500);
const t0 = new Date('2026-03-02T12:00:00.000Z');

const phone = fc.integer({ min: 10_000_000, max: 99_999_999 }).map((digits) => `+569${digits}` as E164);

const identity = fc
  .record({
    phone: fc.option(phone, { nil: undefined }),
    userId: fc.option(fc.constantFrom('CL.1', 'CL.2', 'CL.3'), { nil: undefined }),
    name: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
  })
  .map(({ phone: maybePhone, userId, name }) => ({
    phone: maybePhone ?? (userId === undefined ? ('+56900000000' as E164) : undefined),
    userId,
    name,
  }));

const tenantWorld = fc.record({
  numbers: fc.integer({ min: 1, max: 2 }),
  contacts: fc.array(identity, { minLength: 1, maxLength: 4 }),
  inbound: fc.array(fc.record({ contact: fc.nat(), number: fc.nat() }), { maxLength: 3 }),
  inbox: fc.array(fc.nat(), { maxLength: 2 }),
  outbound: fc.array(
    fc.record({ contact: fc.nat(), number: fc.nat(), priority: fc.integer({ min: 0, max: 10 }) }),
    {
      maxLength: 3,
    },
  ),
  agreements: fc.array(
    fc.record({
      lender: fc.nat(),
      borrower: fc.nat(),
      money: fc.boolean(),
      amount: fc.integer({ min: 1, max: 1e9 }),
      status: fc.constantFrom('pending_confirmation' as const, 'active' as const),
    }),
    { maxLength: 2 },
  ),
  conversation: fc.boolean(),
  template: fc.boolean(),
  hold: fc.boolean(),
  // Each a number's key (rotating the one before it) or, when absent, a tenant-wide key.
  flowKeys: fc.array(fc.option(fc.nat(), { nil: undefined }), { maxLength: 3 }),
  profiles: fc.array(
    fc.record({
      contact: fc.nat(),
      name: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
      email: fc.boolean(),
      bankDetails: fc.boolean(),
    }),
    { maxLength: 2 },
  ),
});

type TenantWorld = typeof tenantWorld extends fc.Arbitrary<infer T> ? T : never;

type Seeded = {
  readonly tenant: Tenant;
  readonly numbers: readonly PhoneNumberId[];
  readonly contacts: readonly Contact[];
  readonly inboxIds: readonly string[];
  readonly outboxIds: readonly string[];
  readonly outboundWamids: readonly Wamid[];
  readonly agreements: readonly Agreement[];
  readonly reminderIds: readonly string[];
  readonly flowKeyIds: readonly string[];
};

const pick = <T>(items: readonly T[], index: number): T => items[index % items.length]!;

const digits = () => `9${crypto.getRandomValues(new Uint32Array(3)).join('').slice(0, 15)}` as PhoneNumberId;

const dueDate = { year: 2026, month: 4, day: 1 };

const loanOf = (
  tenantId: TenantId,
  phoneNumberId: PhoneNumberId,
  lenderId: ContactId,
  borrowerId: ContactId,
  { money, amount }: { readonly money: boolean; readonly amount: number } = { money: false, amount: 0 },
): Agreement => ({
  id: crypto.randomUUID() as AgreementId,
  tenantId,
  phoneNumberId,
  lenderId,
  borrowerId,
  subject: money
    ? { kind: 'money', amount: { minor: amount, currency: 'CLP' } }
    : { kind: 'object', description: 'taladro' },
  dueDate,
  status: 'active',
  createdAt: t0,
});

const reminderOf = (agreementId: AgreementId, recipientId: ContactId): NewReminder => ({
  id: crypto.randomUUID(),
  agreementId,
  kind: 'due_day',
  localDate: dueDate,
  scheduledAt: t0,
  recipientId,
});

const flowKeyOf = (phoneNumberId: PhoneNumberId | undefined): StoredFlowKey => ({
  id: crypto.randomUUID(),
  ...defined({ phoneNumberId }),
  fingerprint: '0123456789abcdef',
  privateKey: { keyId: 'k1', ciphertext: 'sealed-flow-key' },
  createdAt: t0,
});

/** Template names are the tenant's own, so a template read back tells whose it is. */
const templateNameOf = (tenantId: TenantId) => `loan_reminder_${tenantId.replaceAll('-', '')}`;

const noFollowUps = { origins: [], statuses: [] };

const fallback = { type: 'template' as const, name: 'loan_update', language: 'es', components: [] };

/** Seeds one tenant in one transaction, through the repositories. */
const seed = (driver: SqlDriver, world: TenantWorld): ResultAsync<Seeded, StorageError> => {
  const tenant = fixtureTenant();
  return seedRepositories(driver, world, tenant).andThen((seeded) => {
    // Webhook items are stored across tenants, each under its number's: as a webhook stores them.
    const inbox = world.inbox.map((number) => textInboxEntry(pick(seeded.numbers, number), { sentAt: t0 }));
    return new PostgresInboxQueue(driver)
      .store({ entries: inbox, now: t0, followUps: noFollowUps })
      .map((stored) => ({
        ...seeded,
        inboxIds: inbox.filter((_, index) => stored[index]?.outcome === 'stored').map((entry) => entry.id),
      }));
  });
};

const seedRepositories = (
  driver: SqlDriver,
  world: TenantWorld,
  tenant: Tenant,
): ResultAsync<Seeded, StorageError> =>
  driver.transaction(
    (session) =>
      safeTry(async function* () {
        const r: TenantRepositories = tenantRepositoriesOf(session);
        yield* r.tenant.create(tenant);
        const numbers = Array.from({ length: world.numbers }, digits);
        for (const phoneNumberId of numbers) yield* r.numbers.add(fixtureNumber({ phoneNumberId }));
        const contacts = new Map<ContactId, Contact>();
        for (const person of world.contacts) {
          const { contact } = yield* r.contacts.upsert(
            {
              ...defined({ phone: person.phone }),
              ...defined({ userId: person.userId }),
              ...defined({ name: person.name }),
            },
            crypto.randomUUID() as ContactId,
          );
          contacts.set(contact.id, contact);
        }
        const people = [...contacts.values()];
        for (const { contact, number } of world.inbound) {
          yield* r.messages.recordInbound({
            phoneNumberId: pick(numbers, number),
            contactId: pick(people, contact).id,
            sentAt: t0,
          });
        }
        const outboxIds: string[] = [];
        const outboundWamids: Wamid[] = [];
        for (const { contact, number, priority } of world.outbound) {
          const person = pick(people, contact);
          const entry = {
            ...textOutboxEntry(pick(numbers, number), {
              contactId: person.id,
              priority,
              at: t0,
              ...defined({ to: person.phone }),
            }),
            fallback,
          };
          yield* r.outbox.enqueue([entry]);
          const wamid = `wamid.out.${crypto.randomUUID()}` as Wamid;
          yield* r.messages.recordOutbound({
            wamid,
            phoneNumberId: entry.phoneNumberId,
            contactId: person.id,
            outboxId: entry.id,
            origin: { kind: 'notification' },
            type: 'text',
            acceptedAt: t0,
          });
          outboxIds.push(entry.id);
          outboundWamids.push(wamid);
        }
        if (world.hold)
          yield* session.query(
            `INSERT INTO prestabot.outbox_recipient_holds (phone_number_id, recipient_key, until)
             VALUES ($1, '+56911112222', $2)`,
            [pick(numbers, 0), new Date(t0.getTime() + 60_000)],
          );
        const agreements: Agreement[] = [];
        const reminderIds: string[] = [];
        for (const { lender, borrower, money, amount, status } of world.agreements) {
          const from = pick(people, lender);
          const to = pick(people, borrower + (pick(people, borrower).id === from.id ? 1 : 0));
          if (from.id === to.id) continue;
          const agreement = {
            ...loanOf(tenant.id, pick(numbers, lender), from.id, to.id, { money, amount }),
            status,
          };
          yield* r.agreements.create(agreement);
          const reminder = reminderOf(agreement.id, to.id);
          yield* r.reminders.replacePlan(agreement.id, [reminder]);
          agreements.push(agreement);
          reminderIds.push(reminder.id);
        }
        if (world.conversation) yield* r.conversations.save(pick(people, 0).id, { step: 'amount' }, 0, t0);
        if (world.template)
          yield* r.templates.upsert({
            purpose: 'loan_reminder',
            name: templateNameOf(tenant.id),
            language: 'es',
            parameters: [{ variable: 'borrower_name' }],
            quickReplies: ['claim_returned'],
          });
        const flowKeyIds: string[] = [];
        for (const number of world.flowKeys) {
          const key = flowKeyOf(number === undefined ? undefined : pick(numbers, number));
          yield* r.flowKeys.add(key, t0);
          flowKeyIds.push(key.id);
        }
        for (const { contact, name, email, bankDetails } of world.profiles)
          yield* r.profiles.save(pick(people, contact).id, {
            ...defined({ name }),
            ...(email ? { email: 'ana@example.com' } : {}),
            ...(bankDetails ? { bankDetails: { keyId: 'k1', ciphertext: 'sealed-bank-details' } } : {}),
          });
        return ok({
          tenant,
          numbers,
          contacts: people,
          inboxIds: [],
          outboxIds,
          outboundWamids,
          agreements,
          reminderIds,
          flowKeyIds,
        });
      }),
    tenantScope(tenant.id),
  );

const tenantColumnOf = (table: string) => (table === 'tenants' ? 'id' : 'tenant_id');

/** Everything tenant B has, as the migrating role sees it (it bypasses row-level security). */
const snapshotOf = async (driver: SqlDriver, tables: readonly string[], tenantId: TenantId) => {
  const parts: string[] = [];
  for (const table of tables) {
    const rows = await expectOk(
      driver.query(
        `SELECT to_jsonb(t)::text AS row FROM prestabot.${table} t WHERE ${tenantColumnOf(table)} = $1 ORDER BY 1`,
        [tenantId],
      ),
    );
    parts.push(`${table}:${rows.map((row) => row.row).join('|')}`);
  }
  return parts.join('\n');
};

type Probe = { readonly statement: string; readonly outcome: Result<readonly SqlRow[], StorageError> };

/** Runs raw statements as tenant A, each in a savepoint, then rolls everything back. */
const probeAs = async (
  driver: SqlDriver,
  tenantId: TenantId,
  statements: readonly (readonly [string, unknown[]])[],
) => {
  const probes: Probe[] = [];
  await driver.transaction(
    (session) =>
      ResultAsync.fromSafePromise(
        (async () => {
          for (const [statement, params] of statements) {
            await session.query('SAVEPOINT probe');
            probes.push({ statement, outcome: await session.query(statement, params) });
            await session.query('ROLLBACK TO SAVEPOINT probe');
          }
        })(),
      ).andThen(() => errAsync('roll back')),
    tenantScope(tenantId),
  );
  return probes;
};

describeOnEachDriver('tenant isolation', (context) => {
  it(`holds for raw SQL and every repository call, over ${runs} random pairs of tenants`, async () => {
    const { driver, storage } = context();
    const tables = (await expectOk(driver.query(tenantTablesSql))).map((row) => String(row.table));
    expect(tables.length).toBeGreaterThanOrEqual(12);
    expect(tables).toContain('flow_keys');

    await fc.assert(
      fc.asyncProperty(tenantWorld, tenantWorld, async (worldA, worldB) => {
        const a = await expectOk(seed(driver, worldA));
        const b = await expectOk(seed(driver, worldB));
        const asA = <T>(work: (r: TenantRepositories) => ResultAsync<T, StorageError>) =>
          expectOk(storage.unitOfWork.run(a.tenant.id, work));
        const refusedAsA = async (work: (r: TenantRepositories) => ResultAsync<unknown, StorageError>) =>
          expect(await expectErr(storage.unitOfWork.run(a.tenant.id, work))).toMatchObject({
            reason: 'constraint',
          });

        // Raw statements without a tenant filter, over every tenant table.
        const ownCounts = new Map<string, number>();
        for (const table of tables) {
          const [row] = await expectOk(
            driver.query(
              `SELECT count(*)::integer AS rows FROM prestabot.${table} WHERE ${tenantColumnOf(table)} = $1`,
              [a.tenant.id],
            ),
          );
          ownCounts.set(table, Number(row?.rows));
        }
        const statements = tables.flatMap((table): (readonly [string, unknown[]])[] => {
          const column = tenantColumnOf(table);
          return [
            [`SELECT ${column} AS owner FROM prestabot.${table}`, []],
            [`UPDATE prestabot.${table} SET ${column} = ${column} RETURNING ${column} AS owner`, []],
            [`DELETE FROM prestabot.${table} RETURNING ${column} AS owner`, []],
            [`UPDATE prestabot.${table} SET ${column} = $1 RETURNING ${column} AS owner`, [b.tenant.id]],
          ];
        });
        const probes = await probeAs(driver, a.tenant.id, statements);
        expect(probes).toHaveLength(statements.length);
        for (const [index, probe] of probes.entries()) {
          const table = tables[Math.floor(index / 4)]!;
          const own = ownCounts.get(table)!;
          if (probe.outcome.isOk()) {
            const owners = probe.outcome.value.map((row) => row.owner);
            expect(
              owners.every((owner) => owner === a.tenant.id),
              probe.statement,
            ).toBe(true);
            // Reads, no-op updates and deletes reach exactly A's rows; handing them to B reaches none.
            expect(owners.length, probe.statement).toBe(index % 4 === 3 ? 0 : own);
          } else {
            // No DELETE grant on the table, or WITH CHECK refusing to hand A's rows to B.
            expect(probe.outcome.error.reason, probe.statement).toBe('constraint');
            expect(index % 4 === 2 || (index % 4 === 3 && own > 0), probe.statement).toBe(true);
          }
        }

        // Rows of A pointing at rows of B.
        const contactOfB = b.contacts[0]!;
        const contactOfA = a.contacts[0]!;
        await refusedAsA((r) => r.outbox.enqueue([textOutboxEntry(b.numbers[0]!)]));
        await refusedAsA((r) =>
          r.outbox.enqueue([textOutboxEntry(a.numbers[0]!, { contactId: contactOfB.id })]),
        );
        await refusedAsA((r) =>
          r.messages.recordInbound({ phoneNumberId: a.numbers[0]!, contactId: contactOfB.id, sentAt: t0 }),
        );
        await refusedAsA((r) =>
          r.messages.recordInbound({ phoneNumberId: b.numbers[0]!, contactId: contactOfA.id, sentAt: t0 }),
        );
        for (const [phoneNumberId, contactId] of [
          [a.numbers[0]!, contactOfB.id],
          [b.numbers[0]!, contactOfA.id],
        ] as const)
          await refusedAsA((r) =>
            r.messages.recordOutbound({
              wamid: `wamid.probe.${crypto.randomUUID()}` as Wamid,
              phoneNumberId,
              contactId,
              outboxId: crypto.randomUUID(),
              origin: { kind: 'notification' },
              type: 'text',
              acceptedAt: t0,
            }),
          );
        // Loans, reminders and conversations of A pointing at B's contacts, numbers, loans and messages.
        const freshContactOfA = (r: TenantRepositories) =>
          r.contacts
            // +5690…: a phone no seeded contact has, so this is a second person of A.
            .upsert(
              { phone: `+5690${1_000_000 + Math.floor(Math.random() * 8_999_999)}` as E164 },
              crypto.randomUUID() as ContactId,
            )
            .map(({ contact }) => contact);
        await refusedAsA((r) =>
          r.agreements.create(loanOf(a.tenant.id, a.numbers[0]!, contactOfA.id, contactOfB.id)),
        );
        await refusedAsA((r) =>
          freshContactOfA(r).andThen((borrower) =>
            r.agreements.create(loanOf(a.tenant.id, b.numbers[0]!, contactOfA.id, borrower.id)),
          ),
        );
        await refusedAsA((r) =>
          freshContactOfA(r).andThen((borrower) =>
            r.agreements.create(loanOf(b.tenant.id, a.numbers[0]!, contactOfA.id, borrower.id)),
          ),
        );
        await refusedAsA((r) => r.conversations.save(contactOfB.id, { step: 'amount' }, 0, t0));
        // A Flows key of A for B's number, and a profile of A written onto B's contact.
        await refusedAsA((r) => r.flowKeys.add(flowKeyOf(b.numbers[0]!), t0));
        await refusedAsA((r) => r.profiles.save(contactOfB.id, { name: 'stolen', email: 'x@example.com' }));
        for (const agreement of b.agreements) {
          await refusedAsA((r) =>
            r.reminders.replacePlan(agreement.id, [reminderOf(agreement.id, contactOfA.id)]),
          );
          await refusedAsA((r) => r.reminders.replacePlan(agreement.id, []));
        }
        for (const agreement of a.agreements)
          await refusedAsA((r) =>
            r.reminders.replacePlan(agreement.id, [
              { ...reminderOf(agreement.id, contactOfB.id), kind: 'overdue_1' },
            ]),
          );
        const rawRefusals = [
          [
            `INSERT INTO prestabot.agreements (id, phone_number_id, lender_contact_id, borrower_contact_id, kind,
               description, due_date, status)
             VALUES (gen_random_uuid(), $1, $2, $3, 'object', 'x', '2026-04-01', 'active')`,
            [a.numbers[0]!, contactOfA.id, contactOfB.id],
          ],
          [
            `INSERT INTO prestabot.conversations (contact_id, state, expires_at) VALUES ($1, '{}', now())`,
            [contactOfB.id],
          ],
          [
            `INSERT INTO prestabot.inbox (id, phone_number_id, delivery_key, kind, item, item_time, received_at,
               available_at)
             VALUES (gen_random_uuid(), $1, 'probe', 'message', '{}', now(), now(), now())`,
            [b.numbers[0]!],
          ],
          [
            `INSERT INTO prestabot.outbox (id, phone_number_id, contact_id, message, origin, idempotency_key,
               priority, not_before, available_at, created_at)
             VALUES (gen_random_uuid(), $1, $2, '{}', '{}', 'probe', 0, now(), now(), now())`,
            [a.numbers[0]!, contactOfB.id],
          ],
          [
            `INSERT INTO prestabot.flow_keys (id, phone_number_id, fingerprint, private_key_key_id,
               private_key_ciphertext, created_at)
             VALUES (gen_random_uuid(), $1, '0123456789abcdef', 'k1', 'sealed', now())`,
            [b.numbers[0]!],
          ],
          ...b.agreements.map(
            (agreement) =>
              [
                `INSERT INTO prestabot.reminders (id, agreement_id, kind, local_date, scheduled_at, recipient_contact_id)
                   VALUES (gen_random_uuid(), $1, 'overdue_1', '2026-04-02', now(), $2)`,
                [agreement.id, contactOfA.id],
              ] as const,
          ),
          ...a.agreements.flatMap((agreement) => [
            [
              `INSERT INTO prestabot.reminders (id, agreement_id, kind, local_date, scheduled_at, recipient_contact_id)
                 VALUES (gen_random_uuid(), $1, 'overdue_3', '2026-04-04', now(), $2)`,
              [agreement.id, contactOfB.id],
            ] as const,
            ...b.outboxIds.map(
              (outboxId) =>
                [
                  `INSERT INTO prestabot.reminders (id, agreement_id, kind, local_date, scheduled_at,
                     recipient_contact_id, status, outbox_id)
                   VALUES (gen_random_uuid(), $1, 'overdue_7', '2026-04-08', now(), $2, 'queued', $3)`,
                  [agreement.id, agreement.borrowerId, outboxId],
                ] as const,
            ),
          ]),
        ] as const;
        for (const probe of await probeAs(
          driver,
          a.tenant.id,
          rawRefusals.map(([text, params]) => [text, [...params]]),
        )) {
          expect(probe.outcome.isErr() && probe.outcome.error.reason, probe.statement).toBe('constraint');
          // A foreign key, not a missing column or a check that happens to refuse the row too.
          expect(probe.outcome.isErr() && probe.outcome.error.message, probe.statement).toContain('23503');
        }

        // Repository calls naming B's rows: nothing read, nothing changed. B's queued messages and both
        // tenants' reminders are put under a lease the calls then hold (by the migrating role).
        const [claimed] = await expectOk(
          storage.inboxQueue.claim({ owner: 'probe', limit: 1, leaseMs: 60_000, now: t0, ids: b.inboxIds }),
        );
        const held = { owner: 'probe', until: new Date(t0.getTime() + 60_000) };
        await expectOk(
          driver.query(
            'UPDATE prestabot.outbox SET lease_owner = $2, leased_until = $3 WHERE tenant_id = $1',
            [b.tenant.id, held.owner, held.until],
          ),
        );
        await expectOk(
          driver.query(
            'UPDATE prestabot.reminders SET lease_owner = $3, leased_until = $4 WHERE tenant_id IN ($1, $2)',
            [a.tenant.id, b.tenant.id, held.owner, held.until],
          ),
        );
        if (a.reminderIds[0] !== undefined && b.outboxIds[0] !== undefined)
          await refusedAsA((r) => r.reminders.markQueued(a.reminderIds[0]!, held, b.outboxIds[0]!));
        const before = await snapshotOf(driver, tables, b.tenant.id);
        expect((await asA((r) => r.tenant.current()))?.id).toBe(a.tenant.id);
        await asA((r) => r.tenant.updateSettings({ ...a.tenant.settings, reminderSendHour: 3 }));
        for (const contact of b.contacts) {
          expect(await asA((r) => r.contacts.get(contact.id))).toBeUndefined();
          await asA((r) => r.contacts.setOptedOut(contact.id, true));
          if (contact.phone !== undefined)
            expect((await asA((r) => r.contacts.findByPhone(contact.phone!)))?.tenantId ?? a.tenant.id).toBe(
              a.tenant.id,
            );
          for (const number of b.numbers)
            expect(await asA((r) => r.messages.lastInboundAt(number, contact.id))).toBeUndefined();
          expect(await asA((r) => r.agreements.listFor(contact.id, 10))).toEqual([]);
          expect(await asA((r) => r.agreements.pendingFor(contact.id))).toEqual([]);
          expect(await asA((r) => r.conversations.get(contact.id))).toBeUndefined();
          expect(await asA((r) => r.conversations.save(contact.id, { step: 'stolen' }, 1, t0))).toBe(false);
          await asA((r) => r.conversations.clear(contact.id));
          expect(await asA((r) => r.profiles.get(contact.id))).toBeUndefined();
        }
        for (const number of b.numbers) {
          expect(await asA((r) => r.numbers.get(number))).toBeUndefined();
          expect(await asA((r) => r.numbers.token(number))).toBeUndefined();
          expect(await asA((r) => r.numbers.replaceToken(number, { kind: 'empty' }))).toBe(false);
        }
        expect((await asA((r) => r.numbers.list())).every((number) => number.tenantId === a.tenant.id)).toBe(
          true,
        );
        for (const id of b.outboxIds) {
          expect(await asA((r) => r.outbox.get(id))).toBeUndefined();
        }
        for (const wamid of b.outboundWamids)
          expect(await asA((r) => r.messages.outbound(wamid))).toBeUndefined();
        if (claimed !== undefined) {
          expect(await asA((r) => r.inbox.complete([claimed], t0))).toBe(false);
          expect(await asA((r) => r.inbox.abandon(claimed.id, claimed.lease, t0, 'x'))).toBe(false);
        }
        for (const agreement of b.agreements) {
          expect(await asA((r) => r.agreements.get(agreement.id))).toBeUndefined();
          expect(
            await asA((r) =>
              r.agreements.update({ ...agreement, status: 'cancelled', closedAt: t0 }, agreement.status),
            ),
          ).toBe(false);
          expect(await asA((r) => r.reminders.listFor(agreement.id))).toEqual([]);
          expect(await asA((r) => r.reminders.cancelPending(agreement.id, 'probe'))).toBe(0);
        }
        for (const id of b.reminderIds) {
          expect(
            await asA((r) => r.reminders.markQueued(id, held, a.outboxIds[0] ?? crypto.randomUUID())),
          ).toBe(false);
          expect(await asA((r) => r.reminders.markSkipped(id, held, 'probe'))).toBe(false);
          await asA((r) => r.reminders.recordDelivery(id, 'read'));
        }
        const ownTemplate = templateNameOf(a.tenant.id);
        expect((await asA((r) => r.templates.find('loan_reminder', 'es_CL')))?.name ?? ownTemplate).toBe(
          ownTemplate,
        );
        expect(
          (await asA((r) => r.templates.list())).every((template) => template.name === ownTemplate),
        ).toBe(true);
        await asA((r) =>
          r.templates.upsert({
            purpose: 'loan_reminder',
            name: ownTemplate,
            language: 'es',
            parameters: [],
            quickReplies: [],
          }),
        );
        // A's keys only; A's rotations (a tenant-wide key, a number's) retire none of B's current keys.
        expect((await asA((r) => r.flowKeys.list())).map((key) => key.id).sort()).toEqual(
          [...a.flowKeyIds].sort(),
        );
        await asA((r) => r.flowKeys.add(flowKeyOf(undefined), t0));
        await asA((r) => r.flowKeys.add(flowKeyOf(a.numbers[0]!), t0));
        expect(await snapshotOf(driver, tables, b.tenant.id)).toBe(before);
        expect(
          (await expectOk(storage.unitOfWork.run(b.tenant.id, (r) => r.numbers.get(b.numbers[0]!))))
            ?.tokenStatus,
        ).toEqual({ kind: 'set', length: 180 });
        return true;
      }),
      { numRuns: runs },
    );
  }, 900_000);

  it('shows a tenant no row of another even when a raw SELECT names the other tenant', async () => {
    const { driver } = context();
    const [a, b] = [
      await expectOk(seed(driver, fc.sample(tenantWorld, 1)[0]!)),
      await expectOk(seed(driver, fc.sample(tenantWorld, 1)[0]!)),
    ];
    const rows = await expectOk(
      queryIn(driver, tenantScope(a.tenant.id), 'SELECT id FROM prestabot.contacts WHERE tenant_id = $1', [
        b.tenant.id,
      ]),
    );
    expect(rows).toEqual([]);
  });

  it(`stores every item of a batch that mixes tenants under its own tenant only, over ${runs} batches`, async () => {
    const { driver, storage } = context();
    const tenants: (Seeded & { readonly wamid: Wamid })[] = [];
    for (let index = 0; index < 4; index += 1) {
      const seeded = await expectOk(
        seed(driver, { ...fc.sample(tenantWorld, 1)[0]!, numbers: 2, inbox: [] }),
      );
      const { wamid } = await outboundOf(storage, seeded);
      tenants.push({ ...seeded, wamid });
    }
    const numbers = tenants.flatMap((tenant) => tenant.numbers.map((number) => ({ number, tenant })));
    const item = fc.record({
      number: fc.nat({ max: numbers.length - 1 }),
      kind: fc.constantFrom('message', 'status'),
      // A status names one tenant's message, whichever number it comes through.
      statusOf: fc.nat({ max: tenants.length - 1 }),
      repeat: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(item, { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        async (items, leased) => {
          const entries: NewInboxEntry[] = [];
          for (const { number, kind, statusOf, repeat } of items) {
            const { number: phoneNumberId } = numbers[number]!;
            const entry =
              kind === 'message'
                ? textInboxEntry(phoneNumberId, { waId: `569${10_000_000 + entries.length}` })
                : statusInboxEntry(phoneNumberId, tenants[statusOf]!.wamid, 'delivered');
            entries.push(entry);
            // The same item twice in one batch, as a redelivery joining a group commit does.
            if (repeat) entries.push({ ...entry, id: crypto.randomUUID() });
          }
          const owner = `batch-${crypto.randomUUID()}`;
          const stored = await expectOk(
            storage.inboxQueue.store({
              entries,
              now: t0,
              followUps: noFollowUps,
              ...(leased ? { lease: { owner, leaseMs: 60_000 } } : {}),
            }),
          );
          const tenantOfNumber = new Map(numbers.map(({ number, tenant }) => [number, tenant.tenant.id]));
          stored.forEach((result, index) => {
            const entry = entries[index]!;
            const tenantId = tenantOfNumber.get(entry.phoneNumberId);
            if (result.outcome === 'stored') expect(result.entry.tenantId).toBe(tenantId);
            // A status is applied at once only to the message of the tenant whose number it came through.
            if (entry.item.kind === 'status') {
              const own = tenants.find((tenant) => tenant.wamid === entry.item.wamid)!;
              expect(result.outcome === 'applied').toBe(own.tenant.id === tenantId);
            }
          });
          const ids = entries
            .filter((_, index) => stored[index]!.outcome === 'stored')
            .map((entry) => entry.id);
          for (const tenant of tenants) {
            const visible = await expectOk(
              queryIn(
                driver,
                tenantScope(tenant.tenant.id),
                'SELECT id FROM prestabot.inbox WHERE id = ANY ($1::uuid[])',
                [ids],
              ),
            );
            expect(visible.map((row) => String(row.id)).sort()).toEqual(
              entries
                .filter(
                  (entry, index) =>
                    stored[index]!.outcome === 'stored' &&
                    tenantOfNumber.get(entry.phoneNumberId) === tenant.tenant.id,
                )
                .map((entry) => entry.id)
                .sort(),
            );
          }
          if (!leased) return;
          // Statuses held (another tenant's wamid) stay unknown when applied again.
          const held = stored.flatMap((result) =>
            result.outcome === 'stored' && 'lease' in result.entry && result.entry.item.kind === 'status'
              ? [result.entry as ClaimedStatusEntry]
              : [],
          );
          const applied = await expectOk(
            storage.inboxQueue.applyStatuses({
              entries: held,
              now: t0,
              followUps: { origins: [], statuses: [] },
            }),
          );
          for (const result of applied) expect(result.result).toBe('unknown');
        },
      ),
      { numRuns: runs },
    );
  }, 900_000);
});

/** One outbound message of the tenant, its wamid named after the tenant. */
const outboundOf = async (storage: PostgresStorage, seeded: Seeded) => {
  const wamid = `wamid.out.${seeded.tenant.id}` as Wamid;
  await expectOk(
    storage.unitOfWork.run(seeded.tenant.id, (r) =>
      r.messages.recordOutbound({
        wamid,
        phoneNumberId: seeded.numbers[0]!,
        outboxId: crypto.randomUUID(),
        origin: { kind: 'notification' },
        type: 'text',
        acceptedAt: t0,
      }),
    ),
  );
  return { wamid };
};
