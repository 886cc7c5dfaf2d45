import type { SendFailure } from '@prestabot/application';
import { err, ok, type ResultAsync } from '@prestabot/domain';
import * as z from 'zod';
import { type GraphClient, unconfirmedAnswer } from './graph-client.ts';

/** The Flows public key Meta holds for a number, and whether it matches the signature Meta expects. */
export type BusinessPublicKey = {
  readonly publicKey: string;
  /** `VALID` or `MISMATCH`, as Meta reports it. */
  readonly signatureStatus: string;
};

const uploadedSchema = z.looseObject({ success: z.literal(true) });

const currentKeySchema = z.looseObject({
  data: z.array(
    z.looseObject({
      business_public_key: z.string(),
      business_public_key_signature_status: z.string(),
    }),
  ),
});

/**
 * The number's WhatsApp Flows encryption key at Meta (`/{version}/{phone_number_id}/whatsapp_business_encryption`).
 * Failures are classified by Graph error code like sends are: 190 means the number's token is invalid.
 */
export class GraphBusinessEncryption {
  readonly #client: GraphClient;

  constructor(client: GraphClient) {
    this.#client = client;
  }

  /** Uploads `publicKeyPem` (a 2048-bit RSA public key); it replaces the number's previous key. */
  register(phoneNumberId: string, accessToken: string, publicKeyPem: string): ResultAsync<void, SendFailure> {
    return this.#client
      .call({
        method: 'POST',
        phoneNumberId,
        edge: 'whatsapp_business_encryption',
        accessToken,
        body: { form: { business_public_key: publicKeyPem } },
      })
      .andThen((answer) =>
        uploadedSchema.safeParse(answer).success
          ? ok(undefined)
          : err(unconfirmedAnswer('confirming the key upload')),
      );
  }

  /** The key Meta holds for the number; `undefined` when none was ever uploaded. */
  current(
    phoneNumberId: string,
    accessToken: string,
  ): ResultAsync<BusinessPublicKey | undefined, SendFailure> {
    return this.#client
      .call({ method: 'GET', phoneNumberId, edge: 'whatsapp_business_encryption', accessToken })
      .andThen((answer) => {
        const parsed = currentKeySchema.safeParse(answer);
        if (!parsed.success) return err(unconfirmedAnswer('the business public key'));
        const [key] = parsed.data.data;
        return ok(
          key === undefined
            ? undefined
            : {
                publicKey: key.business_public_key,
                signatureStatus: key.business_public_key_signature_status,
              },
        );
      });
  }
}
