import { defined, e164FromWaId, type InboundMessage } from '@prestabot/domain';
import type { ContactIdentity } from '../ports/contact-store.port.ts';

/** Who sent a message, as a contact is looked up or created by: phone, user id and profile name. */
export const identityOf = (message: InboundMessage): ContactIdentity | undefined => {
  const phone =
    message.from.waId === undefined ? undefined : e164FromWaId(message.from.waId).unwrapOr(undefined);
  const { userId, profileName } = message.from;
  if (phone === undefined && userId === undefined) return undefined;
  return {
    ...defined({ phone }),
    ...defined({ userId }),
    ...defined({ name: profileName }),
  };
};
