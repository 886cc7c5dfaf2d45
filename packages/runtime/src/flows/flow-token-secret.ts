import { encryptionKeyTexts } from '@prestabot/adapters-webcrypto';
import type { Config } from '../config.ts';

/**
 * The flow-token key: derived from the encryption key, so no second secret has to be managed; from its
 * text as the cipher reads it, so a key with a trailing newline signs the same tokens on every host.
 */
export const flowTokenSecret = async (
  keys: Config['encryptionKeys'],
): Promise<Uint8Array<ArrayBuffer> | undefined> => {
  const encryptionKey = encryptionKeyTexts({ PRESTABOT_ENCRYPTION_KEY: keys.current }).current;
  if (encryptionKey === undefined) return undefined;
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(encryptionKey),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return new Uint8Array(
    await crypto.subtle.sign('HMAC', key, new TextEncoder().encode('prestabot flow tokens v1')),
  );
};
