import {
  defined,
  errAsync,
  maskSecret,
  type OutboundMessage,
  okAsync,
  type PhoneNumberId,
  type Recipient,
  type ResultAsync,
  type TenantId,
  type Wamid,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { Logger } from '../ports/logger.port.ts';
import type { MessagingGateway, SendAccepted, SendFailure } from '../ports/messaging-gateway.port.ts';
import type { Metrics } from '../ports/metrics.port.ts';
import type { StoredToken } from '../ports/number-store.port.ts';
import { type SecretCipher, type SecretCipherError, secretPlaces } from '../ports/secret-cipher.port.ts';
import type { TenantUnitOfWork } from '../ports/unit-of-work.port.ts';

export type SendReplyInput = {
  readonly tenantId: TenantId;
  readonly phoneNumberId: PhoneNumberId;
  readonly recipient?: Recipient;
  readonly message: OutboundMessage;
  readonly replyTo?: Wamid;
  readonly callbackData?: string;
  readonly notBefore?: Date;
  readonly deadline?: Date;
  readonly answerBy?: Date;
  /** The number's token as stored, when the caller has it (a claimed send does); read otherwise. */
  readonly token?: StoredToken;
};

export type SendReplyError = AccessTokenError | SendFailure;

export type TokenSource = 'number' | 'deployment_fallback';

export type AccessTokenError =
  | { readonly type: 'no_access_token'; readonly phoneNumberId: PhoneNumberId }
  | { readonly type: 'number_not_found'; readonly phoneNumberId: PhoneNumberId }
  | SecretCipherError
  | StorageError;

/** Opened tokens are kept by number and ciphertext: opening costs a WebCrypto call per send, a rotation changes the key. */
const maxOpenedTokens = 1024;

export type NumberAccessTokensDependencies = {
  readonly unitOfWork: TenantUnitOfWork;
  readonly cipher: SecretCipher;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** `WHATSAPP_ACCESS_TOKEN`: used only for numbers that have no token of their own. */
  readonly fallbackAccessToken?: string;
};

/**
 * The token a number calls Graph with: its own, as stored (so a rotated token is used from the next read
 * on); the deployment's `WHATSAPP_ACCESS_TOKEN` only where the number has none, and a log line says so
 * every time.
 */
export class NumberAccessTokens {
  readonly #deps: NumberAccessTokensDependencies;
  readonly #opened = new Map<string, string>();

  constructor(dependencies: NumberAccessTokensDependencies) {
    this.#deps = dependencies;
  }

  /** Reads the number's token and opens it. */
  of(tenantId: TenantId, phoneNumberId: PhoneNumberId): ResultAsync<string, AccessTokenError> {
    return this.#deps.unitOfWork
      .run(tenantId, (repositories) => repositories.numbers.token(phoneNumberId))
      .andThen((token) =>
        token === undefined
          ? errAsync({ type: 'number_not_found' as const, phoneNumberId })
          : this.open(token, tenantId, phoneNumberId),
      );
  }

  /** Opens a token as stored, or stands the deployment's in for a number without one. */
  open(
    token: StoredToken,
    tenantId: TenantId,
    phoneNumberId: PhoneNumberId,
  ): ResultAsync<string, AccessTokenError> {
    const { cipher, logger, metrics, fallbackAccessToken } = this.#deps;
    if (token.kind === 'sealed') {
      // Kept by place too: the same ciphertext copied to another number must be opened (and refused) there.
      const cacheKey = `${tenantId}|${phoneNumberId}|${token.sealed.ciphertext}`;
      const opened = this.#opened.get(cacheKey);
      if (opened !== undefined) return okAsync(opened);
      return cipher.open(token.sealed, secretPlaces.accessToken(tenantId, phoneNumberId)).map((plain) => {
        if (this.#opened.size >= maxOpenedTokens) this.#opened.clear();
        this.#opened.set(cacheKey, plain);
        return plain;
      });
    }
    if (fallbackAccessToken === undefined || fallbackAccessToken === '')
      return errAsync({ type: 'no_access_token', phoneNumberId });
    const tokenSource: TokenSource = 'deployment_fallback';
    metrics.increment('token_fallback_total');
    logger.info(
      {
        tenantId,
        phoneNumberId,
        tokenSource,
        token: maskSecret(fallbackAccessToken),
        numberToken: token.kind,
      },
      `number ${phoneNumberId} has no access token of its own; sending with WHATSAPP_ACCESS_TOKEN`,
    );
    return okAsync(fallbackAccessToken);
  }
}

export type SendReplyDependencies = {
  readonly tokens: NumberAccessTokens;
  readonly gateway: MessagingGateway;
};

/**
 * Sends a message as one number, with that number's own access token: the one the caller holds as stored
 * (a claimed send), or read now. The deployment's token stands in only where the number has none, and a
 * log line says so every time.
 */
export class SendReply {
  readonly #deps: SendReplyDependencies;

  constructor(dependencies: SendReplyDependencies) {
    this.#deps = dependencies;
  }

  execute(input: SendReplyInput): ResultAsync<SendAccepted, SendReplyError> {
    const { tokens, gateway } = this.#deps;
    const accessToken =
      input.token === undefined
        ? tokens.of(input.tenantId, input.phoneNumberId)
        : tokens.open(input.token, input.tenantId, input.phoneNumberId);
    return accessToken.andThen((token) =>
      gateway.send({
        phoneNumberId: input.phoneNumberId,
        accessToken: token,
        message: input.message,
        ...defined({ recipient: input.recipient }),
        ...defined({ replyTo: input.replyTo }),
        ...defined({ callbackData: input.callbackData }),
        ...defined({ notBefore: input.notBefore }),
        ...defined({ deadline: input.deadline }),
        ...defined({ answerBy: input.answerBy }),
      }),
    );
  }
}
