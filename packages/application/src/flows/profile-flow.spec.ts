import type { ContactId, E164, OutboundMessage, TenantId } from '@prestabot/domain';
import { defined } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { menuAction } from '../handle-inbound/interactive-ids.ts';
import {
  createInMemoryApp,
  expectErr,
  expectOk,
  type InMemoryApp,
  JsonBatchParser,
  StoredFlowTokens,
  TestSignatureVerifier,
} from '../testing/index.ts';
import { spanish } from '../texts/es.ts';
import type { FlowExchange } from './flow-exchange.ts';
import type { FlowTokenClaims } from './flow-tokens.port.ts';

const secret = 'profile-secret';
const numberA = '1065403522429';
const numberB = '2075403522430';
const ana = '56911111111';
const beto = '56922222222';

const setup = (options: { defaultProfileFlowId?: string; withTokens?: boolean } = {}) => {
  const tokens = new StoredFlowTokens();
  const app = createInMemoryApp({
    verifier: new TestSignatureVerifier(),
    parser: new JsonBatchParser(),
    deploymentAppSecret: secret,
    ...(options.withTokens === false ? {} : { flowTokens: tokens }),
    ...(options.defaultProfileFlowId === undefined
      ? {}
      : { defaultProfileFlowId: options.defaultProfileFlowId }),
  });
  return { app, tokens };
};

const say = (
  app: InMemoryApp,
  number: string,
  from: string,
  content: Parameters<InMemoryApp['receive']>[2],
) => app.receive(number, from, content);

const lastTo = (app: InMemoryApp, waId: string): OutboundMessage | undefined =>
  app.gateway.sentTo(waId).at(-1)?.message;

const flowSentTo = (app: InMemoryApp, waId: string) => {
  const message = lastTo(app, waId);
  if (message?.type !== 'flow') throw new Error(`expected a Flow message, got ${JSON.stringify(message)}`);
  return message;
};

const textTo = (app: InMemoryApp, waId: string): string => {
  const message = lastTo(app, waId);
  return message !== undefined && 'body' in message ? message.body : '';
};

/** What the endpoint hands the use case once the request is decrypted and its token checked. */
const exchange = async (
  app: InMemoryApp,
  tokens: StoredFlowTokens,
  flowToken: string,
  action: FlowExchange['action'],
  data?: Record<string, unknown>,
) => {
  const claims: FlowTokenClaims = await expectOk(tokens.verify(flowToken, app.clock.now()));
  return app.answerFlowExchange.execute({
    action,
    ...(action === 'INIT' ? {} : { screen: 'PROFILE' }),
    ...defined({ data }),
    flowToken,
    claims,
    now: app.clock.now(),
  });
};

const fullProfile = {
  name: '  Ana   María Soto ',
  email: 'Ana@Example.com',
  bank_name: 'Banco Estado',
  account_type: 'sight',
  account_number: '1234 5678',
  holder_name: 'Ana María Soto',
};

const completion = (flowToken: string) =>
  ({
    type: 'flow_reply',
    name: 'flow',
    responseJson: JSON.stringify({ flow_token: flowToken }),
    body: 'Sent',
  }) as const;

describe('the "My profile" Flow', () => {
  it("sends the tenant's own Flow id, falling back to the deployment's default", async () => {
    const { app } = setup({ defaultProfileFlowId: '555000111' });
    const tenantA = await app.addTenant(numberA, 'token-a');
    await app.addTenant(numberB, 'token-b');
    await expectOk(
      app.database.unitOfWork.run(tenantA, (r) =>
        r.tenant
          .current()
          .andThen((tenant) => r.tenant.updateSettings({ ...tenant!.settings, profileFlowId: '777000222' })),
      ),
    );

    await say(app, numberA, ana, 'perfil');
    const sentByA = flowSentTo(app, ana);
    await say(app, numberB, ana, 'My profile');
    const sentByB = flowSentTo(app, ana);

    expect(sentByA.flowId).toBe('777000222');
    expect(sentByB.flowId).toBe('555000111');
    expect(sentByA.flowToken).not.toBe(sentByB.flowToken);
  });

  it('opens from the main menu item too', async () => {
    const { app } = setup({ defaultProfileFlowId: '555000111' });
    await app.addTenant(numberA, 'token-a');
    await say(app, numberA, ana, { type: 'list_reply', id: menuAction('my_profile'), title: 'Mi perfil' });
    expect(flowSentTo(app, ana).flowId).toBe('555000111');
  });

  it('says it is not available when no Flow id is configured, or the deployment has no Flows key', async () => {
    const noFlowId = setup();
    await noFlowId.app.addTenant(numberA, 'token-a');
    await say(noFlowId.app, numberA, ana, 'perfil');
    expect(textTo(noFlowId.app, ana)).toBe(spanish.profile.notAvailable);

    const noKey = setup({ defaultProfileFlowId: '555000111', withTokens: false });
    await noKey.app.addTenant(numberA, 'token-a');
    await say(noKey.app, numberA, ana, 'perfil');
    expect(textTo(noKey.app, ana)).toBe(spanish.profile.notAvailable);
  });

  it('serves the current profile, refuses bad fields on the screen, saves a good one and confirms on completion', async () => {
    const { app, tokens } = setup({ defaultProfileFlowId: '555000111' });
    const tenantA = await app.addTenant(numberA, 'token-a');
    await say(app, numberA, ana, 'perfil');
    const { flowToken } = flowSentTo(app, ana);

    const opened = await expectOk(exchange(app, tokens, flowToken, 'INIT'));
    expect(opened.screen).toBe('PROFILE');
    expect(opened.data).toMatchObject({ email: '', bank_name: '', show_error: false });
    expect(opened.data['account_types']).toHaveLength(4);

    const badEmail = await expectOk(
      exchange(app, tokens, flowToken, 'data_exchange', { ...fullProfile, email: 'ana.example.com' }),
    );
    expect(badEmail).toMatchObject({
      screen: 'PROFILE',
      data: { show_error: true, error_message: spanish.profile.invalid.email, name: fullProfile.name },
    });
    const halfBank = await expectOk(
      exchange(app, tokens, flowToken, 'data_exchange', { ...fullProfile, account_number: '' }),
    );
    expect(halfBank.data).toMatchObject({ show_error: true });

    const saved = await expectOk(exchange(app, tokens, flowToken, 'data_exchange', fullProfile));
    expect(saved).toEqual({
      screen: 'SUCCESS',
      data: { extension_message_response: { params: { flow_token: flowToken, flow: 'profile' } } },
    });

    const contactId = (await expectOk(tokens.verify(flowToken, app.clock.now()))).contactId;
    const stored = await expectOk(app.database.unitOfWork.run(tenantA, (r) => r.profiles.get(contactId)));
    expect(stored).toMatchObject({ name: 'Ana María Soto', email: 'ana@example.com' });
    // Sealed: the account number is not readable from what is stored.
    expect(JSON.stringify(stored)).not.toContain('12345678');

    const reopened = await expectOk(exchange(app, tokens, flowToken, 'INIT'));
    expect(reopened.data).toMatchObject({
      name: 'Ana María Soto',
      email: 'ana@example.com',
      bank_name: 'Banco Estado',
      account_type: 'sight',
      account_number: '12345678',
      holder_name: 'Ana María Soto',
    });

    await say(app, numberA, ana, completion(flowToken));
    expect(textTo(app, ana)).toBe(spanish.profile.updated('Ana María Soto'));
  });

  it("saves a profile without bank details, and keeps one tenant's profile from the other", async () => {
    const { app, tokens } = setup({ defaultProfileFlowId: '555000111' });
    const tenantA = await app.addTenant(numberA, 'token-a');
    const tenantB = await app.addTenant(numberB, 'token-b');
    await say(app, numberA, ana, 'perfil');
    const tokenA = flowSentTo(app, ana).flowToken;
    await say(app, numberB, ana, 'perfil');
    const tokenB = flowSentTo(app, ana).flowToken;

    await expectOk(
      exchange(app, tokens, tokenA, 'data_exchange', {
        name: 'Ana',
        email: 'ana@a.example',
        bank_name: '',
        account_number: '',
        holder_name: '',
      }),
    );
    const openedInB = await expectOk(exchange(app, tokens, tokenB, 'INIT'));
    expect(openedInB.data).toMatchObject({ email: '' });

    const claimsA = await expectOk(tokens.verify(tokenA, app.clock.now()));
    const claimsB = await expectOk(tokens.verify(tokenB, app.clock.now()));
    expect(claimsA.tenantId).toBe(tenantA);
    expect(claimsB.tenantId).toBe(tenantB);
    const readFromB = await expectOk(
      app.database.unitOfWork.run(tenantB as TenantId, (r) => r.profiles.get(claimsA.contactId as ContactId)),
    );
    expect(readFromB).toBeUndefined();
  });

  it("answers an expired or unknown completion with how to reopen, and ignores another person's token", async () => {
    const { app } = setup({ defaultProfileFlowId: '555000111' });
    await app.addTenant(numberA, 'token-a');
    await say(app, numberA, ana, 'perfil');
    const anasToken = flowSentTo(app, ana).flowToken;

    await say(app, numberA, ana, completion('ft_forged'));
    expect(textTo(app, ana)).toBe(spanish.profile.flowExpired);

    const sentBefore = app.gateway.accepted.length;
    await say(app, numberA, beto, completion(anasToken));
    expect(
      app.gateway.accepted.slice(sentBefore).filter((send) => send.message.type !== 'mark_read'),
    ).toEqual([]);
    expect(app.logger.lines.some((line) => line.message.includes("another person's token"))).toBe(true);

    app.clock.advance(2 * 60 * 60 * 1000);
    await say(app, numberA, ana, completion(anasToken));
    expect(textTo(app, ana)).toBe(spanish.profile.flowExpired);
  });

  it('refuses a token for a Flow it does not serve', async () => {
    const { app, tokens } = setup();
    const tenantA = await app.addTenant(numberA, 'token-a');
    await say(app, numberA, ana, 'hola');
    const contact = await expectOk(
      app.database.unitOfWork.run(tenantA, (r) => r.contacts.findByPhone(`+${ana}` as E164)),
    );
    const flowToken = await expectOk(
      tokens.issue({
        tenantId: tenantA,
        phoneNumberId: numberA as FlowTokenClaims['phoneNumberId'],
        contactId: contact!.id,
        flow: 'survey',
        flowId: '1',
        expiresAt: new Date(app.clock.now().getTime() + 60_000),
      }),
    );
    expect(await expectErr(exchange(app, tokens, flowToken, 'INIT'))).toEqual({
      type: 'unknown_flow',
      flow: 'survey',
    });
  });
});
