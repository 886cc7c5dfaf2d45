import { catalogFor } from '@prestabot/application';
import { expectOk } from '@prestabot/application/testing';
import { describe, expect, it, vi } from 'vitest';
import { deploymentFlowKey, flowsEndpointFixture, keyCacheMs, numberA, numberB } from './flows.fixture.ts';

const spanish = catalogFor('es-CL');

const hour = 3_600_000;

/** Counts the RSA decryptions from here on: one per key tried on a request's wrapped AES key. */
const countRsaDecryptions = () => {
  const decrypt = vi.spyOn(crypto.subtle, 'decrypt');
  return {
    count: () =>
      decrypt.mock.calls.filter(
        ([algorithm]) => typeof algorithm === 'object' && algorithm.name === 'RSA-OAEP',
      ).length,
    stop: () => decrypt.mockRestore(),
  };
};

describe('the Flows endpoint', () => {
  it('answers ping as active, and INIT with the screen, encrypted under the request key and flipped IV', async () => {
    const flows = await flowsEndpointFixture();
    const publicKey = await flows.newKey(numberA);
    const ping = await flows.post(publicKey, { version: '3.0', action: 'ping' });
    expect(ping.status).toBe(200);
    expect(ping.answer).toEqual({ data: { status: 'active' } });

    const token = await flows.tokenFor(flows.tenantA, numberA);
    const init = await flows.post(publicKey, { version: '3.0', action: 'INIT', flow_token: token });
    expect(init.status).toBe(200);
    expect(init.answer).toMatchObject({ screen: 'PROFILE', data: { name: 'Ana', show_error: false } });
  });

  it('saves on data_exchange and closes the Flow; BACK shows the screen again', async () => {
    const flows = await flowsEndpointFixture();
    const publicKey = await flows.newKey(numberA);
    const token = await flows.tokenFor(flows.tenantA, numberA);
    const saved = await flows.post(publicKey, {
      version: '3.0',
      action: 'data_exchange',
      screen: 'PROFILE',
      flow_token: token,
      data: {
        name: 'Ana Soto',
        email: 'ana@example.com',
        bank_name: '',
        account_number: '',
        holder_name: '',
      },
    });
    expect(saved.answer).toEqual({
      screen: 'SUCCESS',
      data: { extension_message_response: { params: { flow_token: token, flow: 'profile' } } },
    });
    const back = await flows.post(publicKey, {
      version: '3.0',
      action: 'BACK',
      screen: 'PROFILE',
      flow_token: token,
    });
    expect(back.answer).toMatchObject({ screen: 'PROFILE', data: { email: 'ana@example.com' } });
  });

  it('saves a profile once per flow token: a replayed submit gets 427 and changes nothing', async () => {
    const flows = await flowsEndpointFixture();
    const publicKey = await flows.newKey(numberA);
    const token = await flows.tokenFor(flows.tenantA, numberA);
    const submit = (email: string) =>
      flows.post(publicKey, {
        version: '3.0',
        action: 'data_exchange',
        screen: 'PROFILE',
        flow_token: token,
        data: { name: 'Ana Soto', email, bank_name: '', account_number: '', holder_name: '' },
      });
    expect((await submit('ana@example.com')).answer).toMatchObject({ screen: 'SUCCESS' });

    const replayed = await submit('thief@example.com');
    expect(replayed.status).toBe(427);
    expect(replayed.answer).toEqual({ error_msg: expect.stringContaining(spanish.profile.alreadySubmitted) });
    const opened = await flows.post(publicKey, { version: '3.0', action: 'INIT', flow_token: token });
    expect(opened.answer).toMatchObject({ data: { email: 'ana@example.com' } });

    // A new Flow, with a new token, saves again.
    flows.app.clock.advance(1);
    const next = await flows.tokenFor(flows.tenantA, numberA);
    const saved = await flows.post(publicKey, {
      version: '3.0',
      action: 'data_exchange',
      screen: 'PROFILE',
      flow_token: next,
      data: {
        name: 'Ana Soto',
        email: 'ana@new.example',
        bank_name: '',
        account_number: '',
        holder_name: '',
      },
    });
    expect(saved.answer).toMatchObject({ screen: 'SUCCESS' });
  });

  it('answers 432 to a request signed with an unknown secret', async () => {
    const flows = await flowsEndpointFixture();
    const publicKey = await flows.newKey(numberA);
    const ping = { version: '3.0', action: 'ping' };
    expect((await flows.post(publicKey, ping)).status).toBe(200);
    const forged = await flows.post(publicKey, ping, { signWith: 'not-the-app-secret' });
    expect(forged.status).toBe(432);
    expect(forged.answer).toBeUndefined();
  });

  it('answers 432 to an unsigned or garbled signature before reading storage or decrypting anything', async () => {
    const flows = await flowsEndpointFixture();
    const publicKey = await flows.newKey(numberA);
    const decryptions = countRsaDecryptions();
    // With the database off, any read of secrets or keys would answer 503 instead.
    flows.app.database.setUnavailable(true);
    const ping = { version: '3.0', action: 'ping' };
    expect((await flows.post(publicKey, ping, { signWith: false })).status).toBe(432);
    const sealed = JSON.stringify({ encrypted_flow_data: 'a', encrypted_aes_key: 'b', initial_vector: 'c' });
    const garbled = await flows.endpoint(
      new Request('https://bot.example/flows', {
        method: 'POST',
        body: sealed,
        headers: { 'x-hub-signature-256': 'sha256=not-hex' },
      }),
    );
    expect(garbled.status).toBe(432);
    expect(decryptions.count()).toBe(0);
    decryptions.stop();
  });

  it('checks a wrong signature against the cached app secrets, not the database', async () => {
    const flows = await flowsEndpointFixture();
    const publicKey = await flows.newKey(numberA);
    const ping = { version: '3.0', action: 'ping' };
    expect((await flows.post(publicKey, ping)).status).toBe(200);
    flows.app.database.setUnavailable(true);
    expect((await flows.post(publicKey, ping, { signWith: 'not-the-app-secret' })).status).toBe(432);
  });

  it('tries each key at most once on a request no key opens', async () => {
    const flows = await flowsEndpointFixture();
    await flows.newKey(numberA);
    await flows.newKey(numberB);
    const stranger = await deploymentFlowKey();
    const decryptions = countRsaDecryptions();
    expect((await flows.post(stranger.publicKeyPem, { version: '3.0', action: 'ping' })).status).toBe(421);
    expect(decryptions.count()).toBe(2);
    decryptions.stop();
  });

  it('answers 421 to plain or undecryptable requests, never a 500', async () => {
    const flows = await flowsEndpointFixture();
    const publicKey = await flows.newKey(numberA);
    expect((await flows.postRaw(JSON.stringify({ version: '3.0', action: 'ping' }))).status).toBe(421);
    expect((await flows.postRaw('not json at all')).status).toBe(421);
    expect(
      (
        await flows.postRaw(
          JSON.stringify({ encrypted_flow_data: '!', encrypted_aes_key: '!', initial_vector: '!' }),
        )
      ).status,
    ).toBe(421);
    // Encrypted to a key that is nobody's.
    const stranger = await deploymentFlowKey();
    expect((await flows.post(stranger.publicKeyPem, { version: '3.0', action: 'ping' })).status).toBe(421);
    // Encrypted to number A's key, but the endpoint URL is number B's.
    expect(
      (await flows.post(publicKey, { version: '3.0', action: 'ping' }, { query: `?number=${numberB}` }))
        .status,
    ).toBe(421);
    expect(
      (await flows.post(publicKey, { version: '3.0', action: 'ping' }, { query: `?number=${numberA}` }))
        .status,
    ).toBe(200);
  });

  it('answers 427 to a token that is not ours, expired, or of another tenant than the key', async () => {
    const flows = await flowsEndpointFixture();
    const keyA = await flows.newKey(numberA);
    const keyB = await flows.newKey(numberB);
    const forged = await flows.post(keyA, { version: '3.0', action: 'INIT', flow_token: 'v1.forged.token' });
    expect(forged.status).toBe(427);
    expect(forged.answer).toMatchObject({ error_msg: expect.stringContaining(spanish.profile.flowExpired) });

    const token = await flows.tokenFor(flows.tenantA, numberA, hour);
    const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await flows.post(keyA, { version: '3.0', action: 'INIT', flow_token: tampered })).status).toBe(
      427,
    );
    expect((await flows.post(keyB, { version: '3.0', action: 'INIT', flow_token: token })).status).toBe(427);
    expect(flows.app.logger.lines.some((line) => line.message.includes('another tenant'))).toBe(true);

    flows.app.clock.advance(hour);
    expect((await flows.post(keyA, { version: '3.0', action: 'INIT', flow_token: token })).status).toBe(427);
  });

  it('acknowledges and logs error notifications', async () => {
    const flows = await flowsEndpointFixture();
    const publicKey = await flows.newKey(numberA);
    const token = await flows.tokenFor(flows.tenantA, numberA);
    const notified = await flows.post(publicKey, {
      version: '3.0',
      action: 'data_exchange',
      flow_token: token,
      data: { error: 'INVALID_SCREEN_TRANSITION', error_message: 'screen FOO does not exist' },
    });
    expect(notified.status).toBe(200);
    expect(notified.answer).toEqual({ data: { acknowledged: true } });
    expect(
      flows.app.logger.lines.find((line) => line.message === 'WhatsApp reported a Flow error')?.fields,
    ).toMatchObject({ error: 'INVALID_SCREEN_TRANSITION', tenantId: flows.tenantA });
  });

  it('rotates: a new key works at once, the old one through its grace period, then 421', async () => {
    const flows = await flowsEndpointFixture();
    const oldKey = await flows.newKey(numberA);
    const token = await flows.tokenFor(flows.tenantA, numberA, 30 * hour);
    expect((await flows.post(oldKey, { version: '3.0', action: 'ping' })).status).toBe(200);

    // Made by another process after the endpoint cached its keys: a miss re-reads them.
    flows.app.clock.advance(2_000);
    const newKey = await flows.newKey(numberA);
    expect((await flows.post(newKey, { version: '3.0', action: 'INIT', flow_token: token })).status).toBe(
      200,
    );
    expect((await flows.post(oldKey, { version: '3.0', action: 'INIT', flow_token: token })).status).toBe(
      200,
    );

    await expectOk(flows.admin.register(numberA));
    flows.app.clock.advance(25 * hour);
    expect((await flows.post(oldKey, { version: '3.0', action: 'ping' })).status).toBe(421);
    expect((await flows.post(newKey, { version: '3.0', action: 'ping' })).status).toBe(200);
  });

  it("starts a replaced key's grace period when its successor is registered with Meta, not when it is made", async () => {
    const flows = await flowsEndpointFixture();
    const oldKey = await flows.newKey(numberA);
    await expectOk(flows.admin.register(numberA));
    const ping = { version: '3.0', action: 'ping' };
    const newKey = await flows.newKey(numberA);
    // Meta still hands out the old public key: it must keep opening requests however long that lasts.
    flows.app.clock.advance(30 * hour);
    expect((await flows.post(oldKey, ping)).status).toBe(200);

    await expectOk(flows.admin.register(numberA));
    flows.app.clock.advance(23 * hour);
    expect((await flows.post(oldKey, ping)).status).toBe(200);
    flows.app.clock.advance(2 * hour);
    expect((await flows.post(oldKey, ping)).status).toBe(421);
    expect((await flows.post(newKey, ping)).status).toBe(200);
  });

  it('does not re-read the keys for every undecryptable request', async () => {
    const flows = await flowsEndpointFixture();
    await flows.newKey(numberA);
    const reads = vi.spyOn(flows.app.database.flowKeyDirectory, 'listAll');
    const stranger = await deploymentFlowKey();
    for (let attempt = 0; attempt < 5; attempt += 1)
      expect((await flows.post(stranger.publicKeyPem, { version: '3.0', action: 'ping' })).status).toBe(421);
    expect(reads).toHaveBeenCalledTimes(1);
    flows.app.clock.advance(keyCacheMs);
    await flows.post(stranger.publicKeyPem, { version: '3.0', action: 'ping' });
    expect(reads).toHaveBeenCalledTimes(2);
  });

  it("uses FLOWS_PRIVATE_KEY for numbers without a key of their own, for any tenant's token", async () => {
    const deploymentKey = await deploymentFlowKey();
    const flows = await flowsEndpointFixture({ deploymentKey });
    for (const [tenant, number] of [
      [flows.tenantA, numberA],
      [flows.tenantB, numberB],
    ] as const) {
      const token = await flows.tokenFor(tenant, number);
      const init = await flows.post(deploymentKey.publicKeyPem, {
        version: '3.0',
        action: 'INIT',
        flow_token: token,
      });
      expect(init.status).toBe(200);
    }
  });

  it('refuses a request too large to be a Flows request before reading it all', async () => {
    const flows = await flowsEndpointFixture();
    expect((await flows.postRaw('x'.repeat(1024 * 1024 + 1))).status).toBe(413);
  });
});

describe('Flows key administration', () => {
  it('generates, registers with Meta, and reports what is in use and what Meta holds', async () => {
    const flows = await flowsEndpointFixture();
    expect(
      await flows.admin.register(numberA).match(
        () => 'ok',
        (error) => error.type,
      ),
    ).toBe('no_flow_key');
    const first = await flows.newKey(numberA);
    const registered = await flows.admin.register(numberA);
    expect(registered.isOk()).toBe(true);
    expect(flows.registered.byNumber.get(numberA)).toBe(first);

    let status = (await flows.admin.status(numberA))._unsafeUnwrap();
    expect(status.keys).toHaveLength(1);
    expect(status.registered).toEqual({ matchesCurrent: true, signatureStatus: 'VALID' });

    flows.app.clock.advance(60_000);
    await flows.newKey(numberA);
    status = (await flows.admin.status(numberA))._unsafeUnwrap();
    expect(status.keys.map((key) => key.retiredAt)).toEqual([undefined, flows.app.clock.now()]);
    expect(status.registered?.matchesCurrent).toBe(false);
    // Number B is unaffected by A's keys.
    expect((await flows.admin.status(numberB))._unsafeUnwrap().keys).toEqual([]);
  });

  it('says which input is wrong or which number is unknown', async () => {
    const flows = await flowsEndpointFixture();
    expect((await flows.admin.generate('12ab'))._unsafeUnwrapErr()).toMatchObject({
      type: 'invalid_input',
      field: '--phone-number-id',
    });
    expect((await flows.admin.status('999'))._unsafeUnwrapErr()).toEqual({
      type: 'number_not_found',
      phoneNumberId: '999',
    });
  });
});
