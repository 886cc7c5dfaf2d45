export {
  AesGcmSecretCipher,
  createAesGcmSecretCipher,
  type EncryptionKeyError,
  type EncryptionKeySettings,
  encryptionKeyTexts,
} from './aes-gcm-secret-cipher.ts';
export { hexOf, toBase64 } from './encoding.ts';
