import {
  defined,
  err,
  type InboundContent,
  type InboundMessage,
  ok,
  parseWamid,
  type Result,
  type Sender,
  safeTry,
} from '@prestabot/domain';
import type * as z from 'zod';
import * as wire from './payload.schema.ts';
import { describeInvalidId, type Routing, read, toGraphError } from './read-wire.ts';

type Message = z.output<typeof wire.messageSchema>;

export const readMessage = (
  raw: unknown,
  routing: Routing,
  contacts: readonly wire.WireContact[],
): Result<InboundMessage, string> =>
  safeTry(function* () {
    const message = yield* read(wire.messageSchema, raw);
    const wamid = yield* parseWamid(message.id).mapErr(describeInvalidId);
    const from = yield* senderOf(message, contacts);
    const content = yield* contentOf(message);
    const replyTo =
      message.context?.id === undefined ? undefined : parseWamid(message.context.id).unwrapOr(undefined);
    return ok({
      kind: 'message' as const,
      ...routing,
      wamid,
      from,
      sentAt: message.timestamp,
      ...defined({ replyTo }),
      content,
    });
  });

/** The profile comes from the `contacts[]` entry of the same user, by phone or by business-scoped id. */
const senderOf = (message: Message, contacts: readonly wire.WireContact[]): Result<Sender, string> => {
  const { from, from_user_id: fromUserId } = message;
  if (from === undefined && fromUserId === undefined) return err('neither from nor from_user_id is present');
  const contact = contacts.find(
    (candidate) =>
      (from !== undefined && candidate.wa_id === from) ||
      (fromUserId !== undefined && candidate.user_id === fromUserId),
  );
  return ok(
    defined({ waId: from, userId: fromUserId ?? contact?.user_id, profileName: contact?.profile?.name }),
  );
};

const contentOf = (message: Message): Result<InboundContent, string> => {
  switch (message.type) {
    case 'text':
      return read(wire.textSchema, message.text, 'text').map(({ body }) => ({ type: 'text', body }));
    case 'interactive':
      return read(wire.interactiveSchema, message.interactive, 'interactive').andThen((interactive) =>
        interactiveContentOf(interactive, message.errors),
      );
    case 'button':
      return read(wire.quickReplySchema, message.button, 'button').map(({ text, payload }) => ({
        type: 'quick_reply',
        text,
        payload,
      }));
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      const mediaType = message.type;
      return read(wire.mediaSchema, message[mediaType], mediaType).map((media) => ({
        type: 'media',
        mediaType,
        mediaId: media.id,
        ...defined({ mimeType: media.mime_type, caption: media.caption, filename: media.filename }),
      }));
    }
    case 'location':
      return read(wire.locationSchema, message.location, 'location').map((location) => ({
        type: 'location',
        latitude: location.latitude,
        longitude: location.longitude,
        ...defined({ name: location.name, address: location.address }),
      }));
    case 'contacts':
      return read(wire.sharedContactsSchema, message.contacts, 'contacts').map((cards) => ({
        type: 'contacts',
        cards: cards.map((card) => ({
          formattedName: card.name.formatted_name,
          phones: card.phones.map((phone) => ({
            phone: phone.phone,
            ...defined({ waId: phone.wa_id, type: phone.type }),
          })),
        })),
      }));
    case 'reaction':
      return read(wire.reactionSchema, message.reaction, 'reaction').andThen((reaction) =>
        parseWamid(reaction.message_id)
          .mapErr(describeInvalidId)
          .map(
            (messageId): InboundContent => ({
              type: 'reaction',
              messageId,
              // Meta sends no emoji, or an empty one, when the user removes a reaction.
              ...defined({ emoji: reaction.emoji === '' ? undefined : reaction.emoji }),
            }),
          ),
      );
    case 'request_welcome':
      return ok({ type: 'welcome_request' });
    case 'system':
      return read(wire.systemSchema, message.system, 'system').map((system) => ({
        type: 'system',
        event: system.type,
        ...defined({ body: system.body }),
      }));
    default:
      // `unsupported`, the legacy `unknown`, `order` and whatever Meta adds next: kept, never dropped.
      return ok(unsupported(message.type, message.errors));
  }
};

const interactiveContentOf = (
  interactive: z.output<typeof wire.interactiveSchema>,
  errors: readonly wire.WireErrorDetail[],
): Result<InboundContent, string> => {
  switch (interactive.type) {
    case 'button_reply':
      return read(wire.buttonReplySchema, interactive.button_reply, 'interactive.button_reply').map(
        ({ id, title }) => ({ type: 'button_reply', id, title }),
      );
    case 'list_reply':
      return read(wire.listReplySchema, interactive.list_reply, 'interactive.list_reply').map((reply) => ({
        type: 'list_reply',
        id: reply.id,
        title: reply.title,
        ...defined({ description: reply.description }),
      }));
    case 'nfm_reply':
      return read(wire.flowReplySchema, interactive.nfm_reply, 'interactive.nfm_reply').map((reply) => ({
        type: 'flow_reply',
        name: reply.name,
        responseJson: reply.response_json,
        ...defined({ body: reply.body }),
      }));
    default:
      return ok(unsupported(`interactive.${interactive.type}`, errors));
  }
};

const unsupported = (originalType: string, errors: readonly wire.WireErrorDetail[]): InboundContent => ({
  type: 'unsupported',
  originalType,
  errors: errors.map(toGraphError),
});
