import { encryptFlowRequest, importFlowPublicKey, signWebhookBody } from '@prestabot/adapters-meta';
import { expectOk } from '@prestabot/application/testing';
import { FakeFlowsClient } from '@prestabot/fake-graph';
import { expect, it } from 'vitest';
import { type ContractSession, repliesTo, text, waitFor } from './contract-session.ts';
import type { TestTenant } from './deployment.ts';

/** `/flows`: the profile Flow end to end, what is refused, and a key rotation. */
export const flowsCases = (session: ContractSession): void => {
  const url = (path: string) => `${session.running.url}${path}`;
  /** What a tenant's number sent the person, oldest first. */
  const sentTo = (tenant: TestTenant, waId: string) =>
    repliesTo(session.deployment.fake, tenant.phoneNumberId)
      .filter(
        (sent) =>
          sent.recipient !== undefined && 'phone' in sent.recipient && sent.recipient.phone === `+${waId}`,
      )
      .map((sent) => sent.message);
  /** A person asks a tenant's number for their profile; the Flow message it sends back. */
  const openProfile = async (tenant: TestTenant, waId: string) => {
    await session.deployment.fake.emitWebhook([
      {
        kind: 'message',
        phoneNumberId: tenant.phoneNumberId,
        from: { waId },
        content: text(waId, 'perfil'),
      },
    ]);
    const flowMessage = () => sentTo(tenant, waId).find((message) => message.type === 'flow');
    await waitFor(`the profile Flow for ${waId}`, () => flowMessage() !== undefined);
    const message = flowMessage();
    if (message?.type !== 'flow') throw new Error('unreachable: waited for a Flow message');
    return message;
  };
  const flowsClient = (tenant: TestTenant, options: { readonly appSecret?: string } = {}) =>
    new FakeFlowsClient({
      endpointUrl: url(`/flows?number=${tenant.phoneNumberId}`),
      publicKeyPem: session.deployment.fake.businessPublicKey(tenant.phoneNumberId)!,
      refetchPublicKey: async () => session.deployment.fake.businessPublicKey(tenant.phoneNumberId)!,
      appSecret: options.appSecret ?? session.deployment.appSecret,
    });
  const textsTo = (tenant: TestTenant, waId: string) =>
    sentTo(tenant, waId).flatMap((message) => (message.type === 'text' ? [message.body] : []));
  it('completes the profile Flow on both tenants, each with its own Flow id and key, encrypted end to end', async () => {
    const { deployment } = session;
    for (const [index, tenant] of deployment.tenants.entries()) {
      const waId = `5691111700${index}`;
      const sent = await openProfile(tenant, waId);
      expect(sent.flowId).toBe(tenant.profileFlowId);
      const client = flowsClient(tenant);
      expect((await client.ping()).response).toEqual({ data: { status: 'active' } });
      const opened = await client.init(sent.flowToken);
      expect(opened).toMatchObject({ status: 200, response: { screen: 'PROFILE', data: { email: '' } } });
      const refused = await client.dataExchange(sent.flowToken, 'PROFILE', {
        name: 'Ana',
        email: 'not-an-email',
      });
      expect(refused.response).toMatchObject({ screen: 'PROFILE', data: { show_error: true } });
      const saved = await client.dataExchange(sent.flowToken, 'PROFILE', {
        name: `Ana ${index === 0 ? 'Uno' : 'Dos'}`,
        email: `ana${index}@example.com`,
        bank_name: 'Banco Estado',
        account_type: 'sight',
        account_number: '12345678',
        holder_name: 'Ana Soto',
      });
      expect(saved.response).toMatchObject({ screen: 'SUCCESS' });
      await deployment.fake.emitWebhook([
        {
          kind: 'message',
          phoneNumberId: tenant.phoneNumberId,
          from: { waId },
          content: {
            type: 'flow_reply',
            name: 'flow',
            body: 'Sent',
            responseJson: JSON.stringify({ flow_token: sent.flowToken }),
          },
        },
      ]);
      await waitFor('the confirmation', () =>
        textsTo(tenant, waId).some((body) => body.includes('Guardé tu perfil')),
      );
      expect((await client.init(sent.flowToken)).response).toMatchObject({
        data: { email: `ana${index}@example.com`, account_number: '12345678' },
      });
    }
    // Nothing readable at rest: the account number is sealed.
    const rows = await deployment.sql('SELECT * FROM prestabot.contacts');
    expect(JSON.stringify(rows)).not.toContain('12345678');
  });

  it("answers 427 to a forged token or another tenant's, 421 to a tampered request, 432 to a wrong or missing signature", async () => {
    const { deployment } = session;
    const [a, b] = deployment.tenants;
    const sent = await openProfile(a, '56911117010');
    expect((await flowsClient(a).init('v1.forged.token')).status).toBe(427);
    // A's token, encrypted to B's key at B's endpoint.
    expect((await flowsClient(b).init(sent.flowToken)).status).toBe(427);
    expect((await flowsClient(a, { appSecret: 'not-the-app-secret' }).ping()).status).toBe(432);

    const publicKey = await importFlowPublicKey(deployment.fake.businessPublicKey(a.phoneNumberId)!);
    const sealed = await encryptFlowRequest({ version: '3.0', action: 'ping' }, publicKey._unsafeUnwrap());
    const data = atob(sealed.body.encrypted_flow_data);
    const flipped = btoa(`${String.fromCharCode(data.charCodeAt(0) ^ 1)}${data.slice(1)}`);
    const postFlows = async (body: string, path: string, signWith: string | undefined) =>
      fetch(url(path), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(signWith === undefined
            ? {}
            : { 'x-hub-signature-256': await signWebhookBody(new TextEncoder().encode(body), signWith) }),
        },
        body,
      });
    const tamperedBody = JSON.stringify({ ...sealed.body, encrypted_flow_data: flipped });
    const numberPath = `/flows?number=${a.phoneNumberId}`;
    expect((await postFlows(tamperedBody, numberPath, deployment.appSecret)).status).toBe(421);
    const plainBody = JSON.stringify({ version: '3.0', action: 'ping' });
    expect((await postFlows(plainBody, '/flows', deployment.appSecret)).status).toBe(421);
    // Unsigned: refused before any decryption, whatever the body.
    expect((await postFlows(JSON.stringify(sealed.body), numberPath, undefined)).status).toBe(432);
  });

  it('keeps Flows working through a key rotation: the old key during its grace period, the new one at once', async () => {
    const { deployment } = session;
    const [a] = deployment.tenants;
    const sent = await openProfile(a, '56911117020');
    const withOldKey = flowsClient(a);
    expect((await withOldKey.init(sent.flowToken)).status).toBe(200);
    await expectOk(deployment.flowKeys.generate(a.phoneNumberId));
    await expectOk(deployment.flowKeys.register(a.phoneNumberId));
    const status = await expectOk(deployment.flowKeys.status(a.phoneNumberId));
    expect(status.registered?.matchesCurrent).toBe(true);
    // The host learns of the new key from the database on the first request it cannot otherwise open,
    // re-reading at most once a second (a real rotation takes longer than that to reach WhatsApp).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await flowsClient(a).init(sent.flowToken)).status).toBe(200);
    expect((await withOldKey.init(sent.flowToken)).status).toBe(200);
  });
};
