import type { StorageError, TenantRepositories } from '@prestabot/application';
import {
  expectErr,
  expectOk,
  fixtureNumber,
  fixtureTenant,
  textInboxEntry,
  textOutboxEntry,
} from '@prestabot/application/testing';
import {
  type Contact,
  type ContactId,
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
import { tenantRepositoriesOf } from './repositories/unit-of-work.ts';
import { tenantScope } from './sql/scopes.ts';
import type { SqlDriver, SqlRow, SqlSession } from './sql/sql-driver.ts';
import { describeOnEachDriver } from './testing/each-driver.ts';
import { queryIn, tenantTablesSql } from './testing/raw-sql.ts';

// Acting as tenant A through the application role, nothing reaches tenant B: no repository call, and no
// raw SELECT, UPDATE or DELETE written without a tenant filter, over every tenant table the catalog lists;
// and a row of A can never point at a row of B. Each run seeds two random tenants.

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
    }),
    { maxLength: 2 },
  ),
  conversation: fc.boolean(),
  template: fc.boolean(),
  hold: fc.boolean(),
});

type TenantWorld = typeof tenantWorld extends fc.Arbitrary<infer T> ? T : never;

type Seeded = {
  readonly tenant: Tenant;
  readonly numbers: readonly PhoneNumberId[];
  readonly contacts: readonly Contact[];
  readonly inboxIds: readonly string[];
  readonly outboxIds: readonly string[];
  readonly outboundWamids: readonly Wamid[];
  readonly agreementIds: readonly string[];
};

const pick = <T>(items: readonly T[], index: number): T => items[index % items.length]!;

const digits = () => `9${crypto.getRandomValues(new Uint32Array(3)).join('').slice(0, 15)}` as PhoneNumberId;

const insertAgreement = (
  session: SqlSession,
  lender: string,
  borrower: string,
  money: boolean,
  amount: number,
) =>
  session.query(
    `INSERT INTO prestabot.agreements (id, lender_contact_id, borrower_contact_id, kind, amount_minor, currency,
       description, due_date, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, '2026-04-01', 'active') RETURNING id`,
    [
      crypto.randomUUID(),
      lender,
      borrower,
      money ? 'money' : 'object',
      money ? amount : null,
      money ? 'CLP' : null,
      money ? null : 'taladro',
    ],
  );

/** Seeds one tenant in one transaction: repositories, plus raw SQL for the tables without one yet. */
const seed = (driver: SqlDriver, world: TenantWorld): ResultAsync<Seeded, StorageError> => {
  const tenant = fixtureTenant();
  return driver.transaction(
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
              ...(person.phone === undefined ? {} : { phone: person.phone }),
              ...(person.userId === undefined ? {} : { userId: person.userId }),
              ...(person.name === undefined ? {} : { name: person.name }),
            },
            crypto.randomUUID() as ContactId,
          );
          contacts.set(contact.id, contact);
        }
        const people = [...contacts.values()];
        for (const { contact, number } of world.inbound) {
          yield* r.messages.recordInbound({
            wamid: `wamid.in.${crypto.randomUUID()}` as Wamid,
            phoneNumberId: pick(numbers, number),
            contactId: pick(people, contact).id,
            type: 'text',
            sentAt: t0,
          });
        }
        const inbox = world.inbox.map((number) => textInboxEntry(pick(numbers, number), { sentAt: t0 }));
        const { recorded } = yield* r.inbox.record(inbox);
        const outboxIds: string[] = [];
        const outboundWamids: Wamid[] = [];
        for (const { contact, number, priority } of world.outbound) {
          const person = pick(people, contact);
          const entry = textOutboxEntry(pick(numbers, number), {
            contactId: person.id,
            priority,
            at: t0,
            ...(person.phone === undefined ? {} : { to: person.phone }),
          });
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
          yield* r.outbox.holdRecipient(
            pick(numbers, 0),
            { phone: '+56911112222' as E164 },
            new Date(t0.getTime() + 60_000),
          );
        const agreementIds: string[] = [];
        for (const { lender, borrower, money, amount } of world.agreements) {
          const from = pick(people, lender);
          const to = pick(people, borrower + (pick(people, borrower).id === from.id ? 1 : 0));
          if (from.id === to.id) continue;
          const [row] = yield* insertAgreement(session, from.id, to.id, money, amount);
          agreementIds.push(String(row?.id));
          yield* session.query(
            `INSERT INTO prestabot.reminders (id, agreement_id, kind, local_date, scheduled_at, recipient_contact_id)
             VALUES ($1, $2, 'due_day', '2026-04-01', $3, $4)`,
            [crypto.randomUUID(), row?.id, t0, to.id],
          );
        }
        if (world.conversation)
          yield* session.query(
            `INSERT INTO prestabot.conversations (contact_id, state, expires_at) VALUES ($1, '{"step":"amount"}', $2)`,
            [pick(people, 0).id, t0],
          );
        if (world.template)
          yield* session.query(
            `INSERT INTO prestabot.templates (id, purpose, name, language, status) VALUES ($1, 'reminder', 'loan_reminder', 'es', 'approved')`,
            [crypto.randomUUID()],
          );
        return ok({
          tenant,
          numbers,
          contacts: people,
          inboxIds: recorded,
          outboxIds,
          outboundWamids,
          agreementIds,
        });
      }),
    tenantScope(tenant.id),
  );
};

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
    expect(tables.length).toBeGreaterThanOrEqual(11);

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
        await refusedAsA((r) => r.inbox.record([textInboxEntry(b.numbers[0]!)]));
        await refusedAsA((r) =>
          r.messages.recordInbound({
            wamid: `wamid.x.${crypto.randomUUID()}` as Wamid,
            phoneNumberId: a.numbers[0]!,
            contactId: contactOfB.id,
            type: 'text',
            sentAt: t0,
          }),
        );
        const rawRefusals = [
          [
            `INSERT INTO prestabot.agreements (id, lender_contact_id, borrower_contact_id, kind, description, due_date, status)
               VALUES (gen_random_uuid(), $1, $2, 'object', 'x', '2026-04-01', 'active')`,
            [contactOfA.id, contactOfB.id],
          ],
          [
            `INSERT INTO prestabot.conversations (contact_id, state, expires_at) VALUES ($1, '{}', now())`,
            [contactOfB.id],
          ],
          ...b.agreementIds.map(
            (agreementId) =>
              [
                `INSERT INTO prestabot.reminders (id, agreement_id, kind, local_date, scheduled_at, recipient_contact_id)
                   VALUES (gen_random_uuid(), $1, 'overdue_1', '2026-04-02', now(), $2)`,
                [agreementId, contactOfA.id],
              ] as const,
          ),
        ] as const;
        for (const probe of await probeAs(
          driver,
          a.tenant.id,
          rawRefusals.map(([text, params]) => [text, [...params]]),
        )) {
          expect(probe.outcome.isErr() && probe.outcome.error.reason, probe.statement).toBe('constraint');
        }

        // Repository calls naming B's rows: nothing read, nothing changed.
        const [claimed] = await expectOk(
          storage.inboxQueue.claim({ owner: 'probe', limit: 1, leaseMs: 60_000, now: t0, ids: b.inboxIds }),
        );
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
        }
        for (const number of b.numbers) {
          expect(await asA((r) => r.numbers.get(number))).toBeUndefined();
          expect(await asA((r) => r.numbers.token(number))).toBeUndefined();
          expect(await asA((r) => r.numbers.replaceToken(number, { kind: 'empty' }))).toBe(false);
          await asA((r) => r.numbers.markTokenInvalid(number, 190, t0));
          await asA((r) => r.outbox.holdRecipient(number, { phone: '+56911112222' as E164 }, t0));
        }
        expect((await asA((r) => r.numbers.list())).every((number) => number.tenantId === a.tenant.id)).toBe(
          true,
        );
        const stolenLease = { owner: 'probe', until: new Date(t0.getTime() + 60_000) };
        for (const id of b.outboxIds) {
          expect(await asA((r) => r.outbox.get(id))).toBeUndefined();
          expect(await asA((r) => r.outbox.markSent(id, stolenLease, 'wamid.stolen' as Wamid, t0))).toBe(
            false,
          );
          expect(await asA((r) => r.outbox.retryLater(id, stolenLease, t0, { reason: 'x' }))).toBe(false);
        }
        for (const wamid of b.outboundWamids)
          expect(
            await asA((r) => r.messages.applyStatus({ wamid, status: 'read', at: t0, errors: [] })),
          ).toBeUndefined();
        if (claimed !== undefined) {
          expect(await asA((r) => r.inbox.complete(claimed.id, claimed.lease, t0))).toBe(false);
          expect(await asA((r) => r.inbox.abandon(claimed.id, claimed.lease, t0, 'x'))).toBe(false);
        }
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
});
