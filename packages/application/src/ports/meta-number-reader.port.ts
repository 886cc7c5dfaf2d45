import type { MetaNumberView, PhoneNumberId, ResultAsync, WabaId } from '@prestabot/domain';
import type { SendFailure } from './messaging-gateway.port.ts';

/**
 * Meta's view of one number (messaging limit, quality, throughput, name) and of its WABA's owner
 * portfolio, read with the number's own token. Failures are classified like sends: 190 is a bad token.
 */
export interface MetaNumberReader {
  read(
    number: { readonly phoneNumberId: PhoneNumberId; readonly wabaId: WabaId },
    accessToken: string,
  ): ResultAsync<MetaNumberView, SendFailure>;
}
