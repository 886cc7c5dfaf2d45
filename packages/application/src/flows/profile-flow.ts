import {
  defined,
  err,
  flowMessage,
  normalizeCommand,
  ok,
  okAsync,
  type Result,
  type ResultAsync,
  safeTry,
  textMessage,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type {
  InboundContext,
  InboundResponder,
  ResponderOutcome,
} from '../handle-inbound/inbound-responder.port.ts';
import { parseMenuAction } from '../handle-inbound/interactive-ids.ts';
import { built } from '../handle-inbound/main-menu-responder.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { Logger } from '../ports/logger.port.ts';
import { type SecretCipher, secretPlaces } from '../ports/secret-cipher.port.ts';
import type { TenantRepositories } from '../ports/unit-of-work.port.ts';
import { type Catalog, catalogFor } from '../texts/catalog.ts';
import type { FlowExchange, FlowExchangeError, FlowScreenResponse, FlowScreens } from './flow-exchange.ts';
import type { FlowTokens } from './flow-tokens.port.ts';

/** Our name for the "My profile" Flow in flow tokens. */
export const profileFlow = 'profile';
/** The screen of the profile Flow JSON (`host-express/flows/profile.json`). */
export const profileScreen = 'PROFILE';

const accountTypes = ['checking', 'savings', 'sight', 'other'] as const;
type AccountType = (typeof accountTypes)[number];

type BankDetails = {
  readonly bankName: string;
  readonly accountType: AccountType;
  readonly accountNumber: string;
  readonly holderName: string;
};
type SubmittedProfile = { readonly name: string; readonly email: string; readonly bank?: BankDetails };

/** How long a sent profile Flow may be opened and submitted. */
const flowTokenTtlMs = 60 * 60 * 1000;

const textOf = (data: Readonly<Record<string, unknown>> | undefined, key: string): string => {
  const value = data?.[key];
  return typeof value === 'string' ? value.trim().replace(/\s+/g, ' ') : '';
};

const namePattern = /^[\p{L}][\p{L}\p{M}' .-]{1,59}$/u;
const emailPattern = /^[^\s@]{1,64}@[^\s@]{1,255}\.[^\s@]{2,}$/;
/** RFC 5321's limit on a whole address, which the database holds to as well. */
const maxEmailLength = 254;

/** Checks the submitted form; the first field at fault is the error shown on the screen. */
const validate = (
  data: Readonly<Record<string, unknown>> | undefined,
  texts: Catalog,
): Result<SubmittedProfile, string> => {
  const name = textOf(data, 'name');
  const email = textOf(data, 'email').toLowerCase();
  if (!namePattern.test(name)) return err(texts.profile.invalid.name);
  if (email.length > maxEmailLength || !emailPattern.test(email)) return err(texts.profile.invalid.email);
  const bankName = textOf(data, 'bank_name');
  const accountNumber = textOf(data, 'account_number').replace(/\s/g, '');
  const holderName = textOf(data, 'holder_name');
  const accountType = accountTypes.find((type) => type === textOf(data, 'account_type'));
  // Bank details are optional, but all or nothing.
  if (bankName === '' && accountNumber === '' && holderName === '') return ok({ name, email });
  if (bankName.length < 2 || bankName.length > 40) return err(texts.profile.invalid.bankName);
  if (accountType === undefined) return err(texts.profile.invalid.accountType);
  if (!/^\d[\d-]{3,29}$/.test(accountNumber) || accountNumber.replace(/-/g, '').length < 4)
    return err(texts.profile.invalid.accountNumber);
  if (!namePattern.test(holderName)) return err(texts.profile.invalid.holderName);
  return ok({ name, email, bank: { bankName, accountType, accountNumber, holderName } });
};

const parseBankDetails = (json: string): BankDetails | undefined => {
  try {
    const value = JSON.parse(json) as Partial<BankDetails>;
    const accountType = accountTypes.find((type) => type === value.accountType);
    return typeof value.bankName === 'string' &&
      typeof value.accountNumber === 'string' &&
      typeof value.holderName === 'string' &&
      accountType !== undefined
      ? {
          bankName: value.bankName,
          accountType,
          accountNumber: value.accountNumber,
          holderName: value.holderName,
        }
      : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The screens of the "My profile" Flow: it opens with the person's current profile, and on submit saves it
 * (bank details sealed) and closes the Flow; an invalid field keeps the screen with a message.
 */
export class ProfileFlowScreens implements FlowScreens {
  readonly #cipher: SecretCipher;

  constructor(cipher: SecretCipher) {
    this.#cipher = cipher;
  }

  respond(
    exchange: FlowExchange,
    repositories: TenantRepositories,
  ): ResultAsync<FlowScreenResponse, FlowExchangeError> {
    const cipher = this.#cipher;
    const { contactId, tenantId } = exchange.claims;
    const bankDetailsPlace = secretPlaces.bankDetails(tenantId, contactId);
    return safeTry(async function* () {
      const tenant = yield* repositories.tenant.current();
      const texts = catalogFor(tenant?.locale ?? 'es-CL');
      const accountTypeOptions = accountTypes.map((id) => ({ id, title: texts.profile.accountTypes[id] }));
      if (exchange.action !== 'data_exchange') {
        const profile = yield* repositories.profiles.get(contactId);
        const bank =
          profile?.bankDetails === undefined
            ? undefined
            : parseBankDetails(yield* cipher.open(profile.bankDetails, bankDetailsPlace));
        return ok({
          screen: profileScreen,
          data: {
            account_types: accountTypeOptions,
            name: profile?.name ?? '',
            email: profile?.email ?? '',
            bank_name: bank?.bankName ?? '',
            account_type: bank?.accountType ?? 'checking',
            account_number: bank?.accountNumber ?? '',
            holder_name: bank?.holderName ?? '',
            show_error: false,
            error_message: '',
          },
        });
      }
      const submitted = validate(exchange.data, texts);
      if (submitted.isErr()) {
        return ok({
          screen: profileScreen,
          data: {
            ...exchange.data,
            account_types: accountTypeOptions,
            show_error: true,
            error_message: submitted.error,
          },
        });
      }
      const firstSubmit = yield* repositories.profiles.recordSubmit(contactId, exchange.claims.expiresAt);
      if (!firstSubmit)
        return err({ type: 'flow_already_submitted' as const, locale: tenant?.locale ?? 'es-CL' });
      const { name, email, bank } = submitted.value;
      const bankDetails =
        bank === undefined ? undefined : yield* cipher.seal(JSON.stringify(bank), bankDetailsPlace);
      yield* repositories.profiles.save(contactId, {
        name,
        email,
        ...defined({ bankDetails }),
      });
      return ok({
        screen: 'SUCCESS',
        data: {
          extension_message_response: { params: { flow_token: exchange.flowToken, flow: profileFlow } },
        },
      });
    });
  }
}

const profileWords = new Set(['mi perfil', 'perfil', 'my profile', 'profile']);

type FlowReplyJson = { readonly flow_token?: unknown };

/**
 * "My profile" in chat: the menu item (or typing "perfil") sends the profile Flow with a signed token, from
 * the tenant's Flow id or the deployment's default; its completion (`nfm_reply`) is acknowledged once its
 * token checks out.
 */
export class ProfileFlowResponder implements InboundResponder {
  readonly #deps: {
    readonly tokens: FlowTokens | undefined;
    readonly clock: Clock;
    readonly logger: Logger;
    readonly defaultFlowId?: string;
  };

  constructor(dependencies: {
    readonly tokens: FlowTokens | undefined;
    readonly clock: Clock;
    readonly logger: Logger;
    readonly defaultFlowId?: string;
  }) {
    this.#deps = dependencies;
  }

  respond(
    context: InboundContext,
    repositories: TenantRepositories,
  ): ResultAsync<ResponderOutcome | undefined, StorageError> {
    const content = context.message.content;
    const texts = catalogFor(context.tenant.locale);
    if (content.type === 'flow_reply')
      return this.#completed(context, content.responseJson, repositories, texts);
    const asked =
      content.type === 'button_reply' || content.type === 'list_reply'
        ? parseMenuAction(content.id) === 'my_profile'
        : content.type === 'text' && profileWords.has(normalizeCommand(content.body));
    if (!asked) return okAsync(undefined);
    const flowId = context.tenant.settings.profileFlowId ?? this.#deps.defaultFlowId;
    const tokens = this.#deps.tokens;
    if (flowId === undefined || tokens === undefined)
      return okAsync({ replies: [built(textMessage(texts.profile.notAvailable))] });
    return tokens
      .issue({
        tenantId: context.tenant.id,
        phoneNumberId: context.number.phoneNumberId,
        contactId: context.contact.id,
        flow: profileFlow,
        flowId,
        expiresAt: new Date(context.now.getTime() + flowTokenTtlMs),
      })
      .map((flowToken) => ({
        replies: [
          built(
            flowMessage({
              body: texts.profile.body,
              cta: texts.profile.cta,
              flowId,
              flowToken,
              mode: 'published',
              action: { type: 'data_exchange' },
            }),
          ),
        ],
      }));
  }

  #completed(
    context: InboundContext,
    responseJson: string,
    repositories: TenantRepositories,
    texts: Catalog,
  ): ResultAsync<ResponderOutcome | undefined, StorageError> {
    const tokens = this.#deps.tokens;
    const token = (() => {
      try {
        const parsed = JSON.parse(responseJson) as FlowReplyJson;
        return typeof parsed.flow_token === 'string' ? parsed.flow_token : undefined;
      } catch {
        return undefined;
      }
    })();
    if (tokens === undefined || token === undefined) return okAsync(undefined);
    const expired: ResponderOutcome = { replies: [built(textMessage(texts.profile.flowExpired))] };
    return tokens
      .verify(token, this.#deps.clock.now())
      .map((claims): typeof claims | undefined => claims)
      .orElse((error) => {
        this.#deps.logger.warn(
          { tenantId: context.tenant.id, contactId: context.contact.id, error: error.type },
          'Flow completion with a token we cannot accept',
        );
        return okAsync(undefined);
      })
      .andThen((claims): ResultAsync<ResponderOutcome | undefined, StorageError> => {
        if (claims === undefined) return okAsync(expired);
        if (claims.flow !== profileFlow) return okAsync(undefined);
        if (claims.tenantId !== context.tenant.id || claims.contactId !== context.contact.id) {
          this.#deps.logger.warn(
            { tenantId: context.tenant.id, contactId: context.contact.id },
            "Flow completion carrying another person's token; ignored",
          );
          return okAsync({ replies: [] });
        }
        return repositories.contacts
          .get(context.contact.id)
          .map((contact) => ({ replies: [built(textMessage(texts.profile.updated(contact?.name ?? '')))] }));
      });
  }
}
