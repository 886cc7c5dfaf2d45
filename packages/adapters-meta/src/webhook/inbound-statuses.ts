import {
  defined,
  type InboundNumberError,
  type InboundStatus,
  ok,
  parseWamid,
  type Result,
  safeTry,
} from '@prestabot/domain';
import * as wire from './payload.schema.ts';
import { describeInvalidId, type Routing, read, toGraphError } from './read-wire.ts';

export const readStatus = (raw: unknown, routing: Routing): Result<InboundStatus, string> =>
  safeTry(function* () {
    const status = yield* read(wire.statusSchema, raw);
    const wamid = yield* parseWamid(status.id).mapErr(describeInvalidId);
    return ok({
      kind: 'status' as const,
      ...routing,
      wamid,
      status: status.status,
      at: status.timestamp,
      recipient: defined({ waId: status.recipient_id, userId: status.recipient_user_id }),
      errors: status.errors.map(toGraphError),
      ...defined({ bizOpaqueCallbackData: status.biz_opaque_callback_data, pricing: status.pricing }),
    });
  });

export const readNumberError = (
  errors: readonly unknown[],
  routing: Routing,
): Result<InboundNumberError, string> =>
  read(wire.errorListSchema, errors).map((details) => ({
    kind: 'error',
    ...routing,
    errors: details.map(toGraphError),
  }));
