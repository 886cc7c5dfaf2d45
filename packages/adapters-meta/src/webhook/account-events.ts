import {
  type AccountEvent,
  defined,
  messagingLimitOfTier,
  ok,
  parseWabaId,
  type Result,
  safeTry,
} from '@prestabot/domain';
import * as wire from './payload.schema.ts';
import { describeInvalidId, read } from './read-wire.ts';

/** The fields of a WABA's changes that tell about the account, its numbers and its templates. */
export const accountFields = new Set([
  'phone_number_quality_update',
  'business_capability_update',
  'account_update',
  'message_template_status_update',
  'template_category_update',
]);

const limitOf = (value: string | number): Result<number | 'unlimited', string> =>
  messagingLimitOfTier(value).mapErr(({ tier }) => `unknown messaging limit ${JSON.stringify(tier)}`);

export const readAccountEvent = (
  field: string,
  raw: unknown,
  wabaIdText: string,
): Result<AccountEvent, string> =>
  safeTry(function* () {
    const wabaId = yield* parseWabaId(wabaIdText).mapErr(describeInvalidId);
    if (field === 'business_capability_update') {
      const value = yield* read(wire.businessCapabilityValueSchema, raw);
      const messagingLimit = yield* limitOf(value.max_daily_conversations_per_business);
      return ok({ kind: 'business_capability' as const, wabaId, messagingLimit });
    }
    if (field === 'message_template_status_update') {
      const value = yield* read(wire.templateStatusValueSchema, raw);
      return ok({
        kind: 'template_status' as const,
        wabaId,
        name: value.message_template_name,
        language: value.message_template_language,
        event: value.event,
        ...defined({ reason: value.reason ?? undefined }),
      });
    }
    if (field === 'template_category_update') {
      const value = yield* read(wire.templateCategoryValueSchema, raw);
      return ok({
        kind: 'template_category' as const,
        wabaId,
        name: value.message_template_name,
        language: value.message_template_language,
        newCategory: value.new_category,
        ...defined({ previousCategory: value.previous_category }),
      });
    }
    if (field === 'account_update') {
      const value = yield* read(wire.accountUpdateValueSchema, raw);
      return ok({ kind: 'account' as const, wabaId, event: value.event });
    }
    const value = yield* read(wire.numberQualityValueSchema, raw);
    // `current_limit` may name a throughput level instead of a limit: only a limit it can read counts.
    const limit = value.max_daily_conversations_per_business ?? value.current_limit;
    const messagingLimit = limit === undefined ? undefined : limitOf(limit).unwrapOr(undefined);
    return ok({
      kind: 'number_quality' as const,
      wabaId,
      displayPhoneNumber: value.display_phone_number.replace(/^\+/, ''),
      event: value.event,
      ...defined({ messagingLimit }),
    });
  });
