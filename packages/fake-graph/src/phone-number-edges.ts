import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FailGraphRequest } from './graph-answers.ts';
import { respond } from './http.ts';
import type { FakeNumber } from './numbers.ts';

/** `GET /{v}/{phone_number_id}`: the number's fields, for its own token only. */
export const readPhoneNumber = (
  number: FakeNumber,
  authorization: string | undefined,
  fields: string | null,
  response: ServerResponse,
  fail: FailGraphRequest,
): void => {
  if (!number.tokenExpired && authorization === `Bearer ${number.accessToken}`)
    respond(response, 200, phoneNumberFieldsOf(number, fields));
  else fail(response, undefined, { code: 190 });
};

/** `GET /{v}/{waba_id}`: the owner business, for a token of one of the WABA's numbers. */
export const readWaba = (
  fakeNumbers: Iterable<FakeNumber>,
  wabaId: string,
  authorization: string,
  response: ServerResponse,
  fail: FailGraphRequest,
): void => {
  const numbers = [...fakeNumbers].filter((number) => number.wabaId === wabaId);
  const owner = numbers.find((number) => authorization === `Bearer ${number.accessToken}`);
  if (numbers.length === 0) {
    fail(response, undefined, {
      code: 100,
      subcode: 33,
      title: `Object with ID '${wabaId}' does not exist`,
    });
  } else if (owner === undefined) {
    fail(response, undefined, { code: 190 });
  } else {
    respond(response, 200, {
      id: wabaId,
      owner_business_info: {
        id: owner.metaFields.businessPortfolioId,
        name: owner.metaFields.verifiedName,
      },
    });
  }
};

/** `POST /{v}/{phone_number_id}/whatsapp_business_encryption`: the number's Flows public key. */
export const uploadBusinessKey = async (
  number: FakeNumber,
  request: IncomingMessage,
  body: Buffer,
  response: ServerResponse,
  fail: FailGraphRequest,
): Promise<void> => {
  // The Fetch API reads both url-encoded and multipart forms.
  const form = await new Request('http://fake-graph/', {
    method: 'POST',
    headers: { 'content-type': request.headers['content-type'] ?? '' },
    body: new Uint8Array(body),
  })
    .formData()
    .catch(() => undefined);
  const key = form?.get('business_public_key');
  if (typeof key !== 'string' || !key.includes('-----BEGIN PUBLIC KEY-----')) {
    fail(response, number, { code: 100, details: 'business_public_key must be a PEM public key' });
    return;
  }
  number.businessPublicKey = key;
  respond(response, 200, { success: true });
};

/** `GET /{v}/{phone_number_id}/whatsapp_business_encryption`: the key uploaded, if any. */
export const readBusinessKey = (number: FakeNumber, response: ServerResponse): void => {
  const key = number.businessPublicKey;
  respond(response, 200, {
    data:
      key === undefined ? [] : [{ business_public_key: key, business_public_key_signature_status: 'VALID' }],
  });
};

/** The fields asked for (`?fields=a,b`) as Graph names them; all of them when none are named. */
const phoneNumberFieldsOf = (number: FakeNumber, fields: string | null): Record<string, unknown> => {
  const meta = number.metaFields;
  const all: Record<string, unknown> = {
    whatsapp_business_manager_messaging_limit: meta.messagingLimit,
    quality_rating: meta.qualityRating,
    throughput: { level: meta.throughputLevel },
    name_status: meta.nameStatus,
    verified_name: meta.verifiedName,
    display_phone_number: number.displayPhoneNumber,
  };
  const wanted = fields === null || fields === '' ? Object.keys(all) : fields.split(',');
  return Object.fromEntries([
    ['id', number.phoneNumberId],
    ...wanted.flatMap((field) => (field in all ? [[field, all[field]]] : [])),
  ]);
};
