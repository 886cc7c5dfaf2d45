import { err, type JsonObject, ok, type Result } from '@prestabot/domain';
import * as z from 'zod';
import { flowDataSchema } from './flow-data.ts';

/** A decrypted Flows request (data API 3.0), by what the endpoint has to do with it. */
export type FlowRequest =
  /** Meta's health check; answered `{data:{status:"active"}}`. */
  | { readonly type: 'ping'; readonly version: string }
  /** The client reports that our previous answer broke the Flow; answered `{data:{acknowledged:true}}`. */
  | {
      readonly type: 'error_notification';
      readonly action: 'INIT' | 'data_exchange';
      readonly flowToken: string;
      readonly error: string;
      readonly errorMessage: string | undefined;
    }
  /** The Flow opens; answered with its first screen. */
  | { readonly type: 'init'; readonly flowToken: string }
  /** A screen was submitted; answered with the next screen, an inline error, or the final `SUCCESS`. */
  | {
      readonly type: 'data_exchange';
      readonly flowToken: string;
      readonly screen: string;
      readonly data: JsonObject;
    }
  /** The user went back to a screen with `refresh_on_back`; answered with that screen's data. */
  | { readonly type: 'back'; readonly flowToken: string; readonly screen: string | undefined };

export type FlowRequestError =
  | { readonly type: 'unknown_flow_action'; readonly action: string }
  | { readonly type: 'invalid_flow_request'; readonly problem: string };

const flowToken = z.string().min(1);

const actionSchema = z.looseObject({ action: z.string() });
const pingSchema = z.looseObject({ version: z.string() });
/** Meta's sample endpoint treats any `data.error` as a notification; a form field must not be named `error`. */
const reportsErrorSchema = z.looseObject({ data: z.looseObject({ error: z.string() }) });
const errorNotificationSchema = z.looseObject({
  flow_token: flowToken,
  data: z.looseObject({ error: z.string(), error_message: z.string().optional() }),
});
const initSchema = z.looseObject({ flow_token: flowToken });
const dataExchangeSchema = z.looseObject({
  flow_token: flowToken,
  screen: z.string().min(1),
  data: flowDataSchema.default({}),
});
const backSchema = z.looseObject({ flow_token: flowToken, screen: z.string().optional() });

/** Reads a decrypted payload (extra fields are ignored); an action we do not know is its own error. */
export const parseFlowRequest = (payload: unknown): Result<FlowRequest, FlowRequestError> =>
  read(actionSchema, payload).andThen(({ action }): Result<FlowRequest, FlowRequestError> => {
    switch (action) {
      case 'ping':
        return read(pingSchema, payload).map(({ version }) => ({ type: 'ping', version }));
      case 'INIT':
      case 'data_exchange':
        if (reportsErrorSchema.safeParse(payload).success) {
          return read(errorNotificationSchema, payload).map(({ flow_token, data }) => ({
            type: 'error_notification',
            action,
            flowToken: flow_token,
            error: data.error,
            errorMessage: data.error_message,
          }));
        }
        return action === 'INIT'
          ? read(initSchema, payload).map(({ flow_token }) => ({ type: 'init', flowToken: flow_token }))
          : read(dataExchangeSchema, payload).map(({ flow_token, screen, data }) => ({
              type: 'data_exchange',
              flowToken: flow_token,
              screen,
              data,
            }));
      case 'BACK':
        return read(backSchema, payload).map(({ flow_token, screen }) => ({
          type: 'back',
          flowToken: flow_token,
          screen,
        }));
      default:
        return err({ type: 'unknown_flow_action', action });
    }
  });

const read = <T>(schema: z.ZodType<T>, value: unknown): Result<T, FlowRequestError> => {
  const parsed = schema.safeParse(value);
  if (parsed.success) return ok(parsed.data);
  const problem = parsed.error.issues
    .map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.join('.')}: ${issue.message}`))
    .join('; ');
  return err({ type: 'invalid_flow_request', problem });
};
