import type { MessagingGateway, SendAccepted, SendFailure, SendRequest } from '@prestabot/application';
import { defined, err, ok, parseWamid, type Result, type ResultAsync } from '@prestabot/domain';
import * as z from 'zod';
import { type GraphClient, unconfirmedAnswer } from './graph-client.ts';
import { encodeSendBody } from './wire.ts';

const sentSchema = z.looseObject({
  messages: z.array(z.looseObject({ id: z.string() })).min(1),
});

const markedReadSchema = z.looseObject({ success: z.literal(true) });

/**
 * Sends through Graph's `POST /{version}/{phone_number_id}/messages` with the token the caller chose
 * (the number's own). One attempt per call; see `GraphClient` for why retries live in the outbox.
 */
export class UndiciGraphGateway implements MessagingGateway {
  readonly #client: GraphClient;

  constructor(client: GraphClient) {
    this.#client = client;
  }

  send(request: SendRequest): ResultAsync<SendAccepted, SendFailure> {
    return this.#client
      .call({
        method: 'POST',
        phoneNumberId: request.phoneNumberId,
        edge: 'messages',
        accessToken: request.accessToken,
        ...defined({ answerBy: request.answerBy }),
        body: {
          json: encodeSendBody({
            message: request.message,
            ...defined({ recipient: request.recipient }),
            ...defined({ replyTo: request.replyTo }),
            ...defined({ callbackData: request.callbackData }),
          }),
        },
      })
      .andThen((answer) => (request.message.type === 'mark_read' ? markedRead(answer) : accepted(answer)));
  }

  /** Releases the client's connections. */
  close(): Promise<void> {
    return this.#client.close();
  }
}

const accepted = (answer: unknown): Result<SendAccepted, SendFailure> => {
  const sent = sentSchema.safeParse(answer);
  if (!sent.success) return err(unconfirmedAnswer('a message id'));
  return parseWamid(sent.data.messages[0]!.id).match(
    (wamid) => ok({ wamid }),
    () => err(unconfirmedAnswer('a valid message id')),
  );
};

const markedRead = (answer: unknown): Result<SendAccepted, SendFailure> =>
  markedReadSchema.safeParse(answer).success ? ok({}) : err(unconfirmedAnswer('success'));
