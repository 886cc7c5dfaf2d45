import {
  defined,
  ellipsize,
  err,
  type GraphErrorDetail,
  type InboundMessage,
  type InvalidId,
  ok,
  type Result,
} from '@prestabot/domain';
import type * as z from 'zod';
import { wirePathOf } from '../wire-path.ts';
import type * as wire from './payload.schema.ts';

/** Where an item arrived: the number and its WABA, which every message, status and error carries. */
export type Routing = Pick<InboundMessage, 'phoneNumberId' | 'displayPhoneNumber' | 'wabaId'>;

export const toGraphError = (error: wire.WireErrorDetail): GraphErrorDetail => ({
  code: error.code,
  ...defined({
    title: error.title,
    message: error.message,
    details: error.error_data?.details ?? error.details,
    subcode: error.error_subcode,
  }),
});

/** Validates `value`; a failure becomes a one-line reason whose paths start at `at`. */
export const read = <T>(schema: z.ZodType<T>, value: unknown, at = ''): Result<T, string> => {
  const parsed = schema.safeParse(value);
  if (parsed.success) return ok(parsed.data);
  return err(parsed.error.issues.map((issue) => describeIssue(issue, at)).join('; '));
};

const describeIssue = (issue: z.core.$ZodIssue, at: string): string => {
  const path = wirePathOf(issue.path, at);
  return path === '' ? issue.message : `${path}: ${issue.message}`;
};

/** The value is shown cut: a reason is logged, and an id may be a megabyte long. */
export const describeInvalidId = (invalid: InvalidId): string =>
  `${invalid.kind} ${JSON.stringify(ellipsize(invalid.value, 80))} is invalid: expected ${invalid.expected}`;
