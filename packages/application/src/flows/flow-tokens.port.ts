import type { ContactId, PhoneNumberId, ResultAsync, TenantId } from '@prestabot/domain';

/** What a `flow_token` vouches for: who opened which Flow, through which number, until when. */
export type FlowTokenClaims = {
  readonly tenantId: TenantId;
  readonly phoneNumberId: PhoneNumberId;
  readonly contactId: ContactId;
  /** Our name for the Flow, e.g. `profile`. */
  readonly flow: string;
  /** Meta's id of the Flow that was sent. */
  readonly flowId: string;
  readonly expiresAt: Date;
};

/** Both are answered 427, on which WhatsApp disables the Flow for the user. */
export type FlowTokenError =
  /** Not a token of ours: wrong format, version or signature. */
  { readonly type: 'invalid_flow_token' } | { readonly type: 'expired_flow_token'; readonly expiredAt: Date };

/** Signs the tokens of the Flows the bot sends, and checks them on every request and completion. */
export interface FlowTokens {
  issue(claims: FlowTokenClaims): ResultAsync<string, never>;
  verify(token: string, now: Date): ResultAsync<FlowTokenClaims, FlowTokenError>;
}
