import {
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
import type { SecretCipher, SecretCipherError } from '../ports/secret-cipher.port.ts';
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
};

export type SendReplyError = AccessTokenError | SendFailure;

export type TokenSource = 'number' | 'deployment_fallback';

export type AccessTokenError =
  | { readonly type: 'no_access_token'; readonly phoneNumberId: PhoneNumberId }
  | { readonly type: 'number_not_found'; readonly phoneNumberId: PhoneNumberId }
  | SecretCipherError
  | StorageError;

/**
 * The token a number calls Graph with: its own, read fresh every time so a rotated token is used at once;
 * the deployment's `WHATSAPP_ACCESS_TOKEN` only where the number has none, and a log line says so every time.
 */
export class NumberAccessTokens {
  readonly #deps: Pick<
    SendReplyDependencies,
    'unitOfWork' | 'cipher' | 'logger' | 'metrics' | 'fallbackAccessToken'
  >;

  constructor(
    dependencies: Pick<
      SendReplyDependencies,
      'unitOfWork' | 'cipher' | 'logger' | 'metrics' | 'fallbackAccessToken'
    >,
  ) {
    this.#deps = dependencies;
  }

  of(tenantId: TenantId, phoneNumberId: PhoneNumberId): ResultAsync<string, AccessTokenError> {
    const { unitOfWork, cipher, logger, metrics, fallbackAccessToken } = this.#deps;
    return unitOfWork
      .run(tenantId, (repositories) => repositories.numbers.token(phoneNumberId))
      .andThen((token): ResultAsync<string, AccessTokenError> => {
        if (token === undefined) return errAsync({ type: 'number_not_found', phoneNumberId });
        if (token.kind === 'sealed') return cipher.open(token.sealed);
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
      });
  }
}

export type SendReplyDependencies = {
  readonly unitOfWork: TenantUnitOfWork;
  readonly cipher: SecretCipher;
  readonly gateway: MessagingGateway;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** `WHATSAPP_ACCESS_TOKEN`: used only for numbers that have no token of their own. */
  readonly fallbackAccessToken?: string;
};

/**
 * Sends a message as one number, with that number's own access token, read fresh for every send so a
 * rotated token is used at once. The deployment's token stands in only where the number has none, and a
 * log line says so every time.
 */
export class SendReply {
  readonly #deps: SendReplyDependencies;
  readonly #tokens: NumberAccessTokens;

  constructor(dependencies: SendReplyDependencies) {
    this.#deps = dependencies;
    this.#tokens = new NumberAccessTokens(dependencies);
  }

  execute(input: SendReplyInput): ResultAsync<SendAccepted, SendReplyError> {
    return this.#tokens.of(input.tenantId, input.phoneNumberId).andThen((accessToken) =>
      this.#deps.gateway.send({
        phoneNumberId: input.phoneNumberId,
        accessToken,
        message: input.message,
        ...(input.recipient === undefined ? {} : { recipient: input.recipient }),
        ...(input.replyTo === undefined ? {} : { replyTo: input.replyTo }),
        ...(input.callbackData === undefined ? {} : { callbackData: input.callbackData }),
        ...(input.notBefore === undefined ? {} : { notBefore: input.notBefore }),
        ...(input.deadline === undefined ? {} : { deadline: input.deadline }),
      }),
    );
  }
}
