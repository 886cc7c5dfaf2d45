import type { Wamid } from './ids.ts';
import type { JsonObject } from './json.ts';
import { err, ok, type Result } from './result.ts';

/** Meta's limits on what a message may carry (Cloud API reference). Checked before anything is sent. */
export const messageLimits = {
  textBody: 4096,
  interactiveBody: 1024,
  headerText: 60,
  footerText: 60,
  buttonsMin: 1,
  buttonsMax: 3,
  buttonTitle: 20,
  buttonId: 256,
  listButtonLabel: 20,
  listSectionsMax: 10,
  listSectionTitle: 24,
  listRowsTotalMax: 10,
  listRowId: 200,
  listRowTitle: 24,
  listRowDescription: 72,
  flowCta: 20,
  callbackData: 512,
  templateName: 512,
} as const;

const templateParameterNamePattern = /^[a-z_]{1,20}$/;

export type ReplyButton = { readonly id: string; readonly title: string };
export type ListRow = { readonly id: string; readonly title: string; readonly description?: string };
export type ListSection = { readonly title?: string; readonly rows: readonly ListRow[] };

export type TemplateParameter =
  | { readonly type: 'text'; readonly text: string; readonly name?: string }
  | {
      readonly type: 'currency';
      readonly fallback: string;
      readonly code: string;
      readonly amount1000: number;
      readonly name?: string;
    }
  | { readonly type: 'date_time'; readonly fallback: string; readonly name?: string };

export type TemplateComponent =
  | { readonly type: 'header'; readonly parameters: readonly TemplateParameter[] }
  | { readonly type: 'body'; readonly parameters: readonly TemplateParameter[] }
  | { readonly type: 'quick_reply_button'; readonly index: number; readonly payload: string }
  | { readonly type: 'url_button'; readonly index: number; readonly text: string };

export type FlowAction =
  | { readonly type: 'navigate'; readonly screen: string; readonly data?: JsonObject }
  | { readonly type: 'data_exchange' };

export type OutboundMessage =
  | { readonly type: 'text'; readonly body: string; readonly previewUrl: boolean }
  | {
      readonly type: 'buttons';
      readonly body: string;
      readonly header?: string;
      readonly footer?: string;
      readonly buttons: readonly ReplyButton[];
    }
  | {
      readonly type: 'list';
      readonly body: string;
      readonly header?: string;
      readonly footer?: string;
      readonly buttonLabel: string;
      readonly sections: readonly ListSection[];
    }
  | {
      readonly type: 'flow';
      readonly body: string;
      readonly header?: string;
      readonly footer?: string;
      readonly flowId: string;
      readonly flowToken: string;
      readonly cta: string;
      readonly mode: 'published' | 'draft';
      readonly action: FlowAction;
    }
  | {
      readonly type: 'template';
      readonly name: string;
      readonly language: string;
      readonly components: readonly TemplateComponent[];
    }
  /** An empty emoji removes our reaction. */
  | { readonly type: 'reaction'; readonly messageId: Wamid; readonly emoji: string }
  | { readonly type: 'mark_read'; readonly messageId: Wamid; readonly typingIndicator: boolean };

export type OutboundMessageType = OutboundMessage['type'];

export type MessageLimitViolation = {
  readonly type: 'message_limit_violation';
  /** Path of the offending field, e.g. `buttons[1].title`. */
  readonly field: string;
  readonly rule: string;
};

/** Length as WhatsApp counts it: characters (code points), not UTF-16 units. */
export const charCount = (text: string): number => {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
};

type Check = MessageLimitViolation | undefined;

const violation = (field: string, rule: string): MessageLimitViolation => ({
  type: 'message_limit_violation',
  field,
  rule,
});

const requireText = (field: string, value: string, max: number, min = 1): Check => {
  const length = charCount(value);
  if (length < min)
    return violation(field, min === 1 ? 'must not be empty' : `must have at least ${min} characters`);
  if (length > max) return violation(field, `must have at most ${max} characters (has ${length})`);
  return undefined;
};

const optionalText = (field: string, value: string | undefined, max: number): Check =>
  value === undefined ? undefined : requireText(field, value, max);

const firstViolation = (checks: Iterable<Check>): Check => {
  for (const check of checks) if (check !== undefined) return check;
  return undefined;
};

const duplicated = (values: readonly string[]): string | undefined =>
  values.find((value, index) => values.indexOf(value) !== index);

const emojiPattern = /\p{Extended_Pictographic}/u;

function* buttonChecks(buttons: readonly ReplyButton[]): Generator<Check> {
  if (buttons.length < messageLimits.buttonsMin || buttons.length > messageLimits.buttonsMax) {
    yield violation(
      'buttons',
      `must have ${messageLimits.buttonsMin} to ${messageLimits.buttonsMax} buttons (has ${buttons.length})`,
    );
  }
  for (const [index, button] of buttons.entries()) {
    yield requireText(`buttons[${index}].title`, button.title, messageLimits.buttonTitle);
    yield requireText(`buttons[${index}].id`, button.id, messageLimits.buttonId);
    if (button.id.trim() !== button.id)
      yield violation(`buttons[${index}].id`, 'must not start or end with spaces');
  }
  const repeatedId = duplicated(buttons.map((button) => button.id));
  if (repeatedId !== undefined) yield violation('buttons', `ids must be unique ("${repeatedId}" repeats)`);
  const repeatedTitle = duplicated(buttons.map((button) => button.title));
  if (repeatedTitle !== undefined)
    yield violation('buttons', `titles must be unique ("${repeatedTitle}" repeats)`);
}

function* listChecks(sections: readonly ListSection[], buttonLabel: string): Generator<Check> {
  yield requireText('buttonLabel', buttonLabel, messageLimits.listButtonLabel);
  if (sections.length < 1 || sections.length > messageLimits.listSectionsMax) {
    yield violation(
      'sections',
      `must have 1 to ${messageLimits.listSectionsMax} sections (has ${sections.length})`,
    );
  }
  const rows = sections.flatMap((section) => section.rows);
  if (rows.length < 1 || rows.length > messageLimits.listRowsTotalMax) {
    yield violation(
      'sections',
      `must have 1 to ${messageLimits.listRowsTotalMax} rows in total (has ${rows.length})`,
    );
  }
  for (const [sectionIndex, section] of sections.entries()) {
    const field = `sections[${sectionIndex}]`;
    if (sections.length > 1 && section.title === undefined)
      yield violation(`${field}.title`, 'is required when there is more than one section');
    yield optionalText(`${field}.title`, section.title, messageLimits.listSectionTitle);
    if (section.rows.length === 0) yield violation(`${field}.rows`, 'must not be empty');
    for (const [rowIndex, row] of section.rows.entries()) {
      yield requireText(`${field}.rows[${rowIndex}].id`, row.id, messageLimits.listRowId);
      yield requireText(`${field}.rows[${rowIndex}].title`, row.title, messageLimits.listRowTitle);
      yield optionalText(
        `${field}.rows[${rowIndex}].description`,
        row.description,
        messageLimits.listRowDescription,
      );
    }
  }
  const repeatedId = duplicated(rows.map((row) => row.id));
  if (repeatedId !== undefined)
    yield violation('sections', `row ids must be unique ("${repeatedId}" repeats)`);
}

function* templateChecks(message: Extract<OutboundMessage, { type: 'template' }>): Generator<Check> {
  yield requireText('name', message.name, messageLimits.templateName);
  if (!/^[a-z0-9_]+$/.test(message.name))
    yield violation('name', 'must use lowercase letters, digits and underscores');
  if (!/^[a-z]{2,3}(_[A-Z]{2})?$/.test(message.language))
    yield violation('language', 'must be a language code such as es or es_CL');
  for (const [index, component] of message.components.entries()) {
    if (component.type === 'header' || component.type === 'body') {
      const named = component.parameters.filter((parameter) => parameter.name !== undefined);
      if (named.length > 0 && named.length !== component.parameters.length) {
        yield violation(`components[${index}].parameters`, 'must be all named or all positional');
      }
      for (const [parameterIndex, parameter] of component.parameters.entries()) {
        const field = `components[${index}].parameters[${parameterIndex}]`;
        if (parameter.name !== undefined && !templateParameterNamePattern.test(parameter.name)) {
          yield violation(`${field}.name`, 'must match ^[a-z_]{1,20}$');
        }
        if (parameter.type === 'text')
          yield requireText(`${field}.text`, parameter.text, messageLimits.textBody);
        if (parameter.type === 'currency' && !Number.isInteger(parameter.amount1000))
          yield violation(`${field}.amount1000`, 'must be an integer');
      }
    } else {
      if (!Number.isInteger(component.index) || component.index < 0 || component.index > 9) {
        yield violation(`components[${index}].index`, 'must be a button index from 0 to 9');
      }
      const value = component.type === 'quick_reply_button' ? component.payload : component.text;
      yield requireText(`components[${index}]`, value, messageLimits.buttonId);
    }
  }
}

function* messageChecks(message: OutboundMessage): Generator<Check> {
  switch (message.type) {
    case 'text':
      yield requireText('body', message.body, messageLimits.textBody);
      return;
    case 'buttons':
      yield requireText('body', message.body, messageLimits.interactiveBody);
      yield optionalText('header', message.header, messageLimits.headerText);
      yield optionalText('footer', message.footer, messageLimits.footerText);
      yield* buttonChecks(message.buttons);
      return;
    case 'list':
      yield requireText('body', message.body, messageLimits.interactiveBody);
      yield optionalText('header', message.header, messageLimits.headerText);
      yield optionalText('footer', message.footer, messageLimits.footerText);
      yield* listChecks(message.sections, message.buttonLabel);
      return;
    case 'flow':
      yield requireText('body', message.body, messageLimits.interactiveBody);
      yield optionalText('header', message.header, messageLimits.headerText);
      yield optionalText('footer', message.footer, messageLimits.footerText);
      yield requireText('cta', message.cta, messageLimits.flowCta);
      if (emojiPattern.test(message.cta)) yield violation('cta', 'must not contain emoji');
      yield requireText('flowId', message.flowId, 64);
      yield requireText('flowToken', message.flowToken, 2048);
      if (message.action.type === 'navigate') {
        yield requireText('action.screen', message.action.screen, 64);
        if (message.action.data !== undefined && Object.keys(message.action.data).length === 0) {
          yield violation('action.data', 'must not be empty when present');
        }
      }
      return;
    case 'template':
      yield* templateChecks(message);
      return;
    case 'reaction':
      if (message.emoji !== '' && (charCount(message.emoji) > 8 || !emojiPattern.test(message.emoji))) {
        yield violation('emoji', 'must be a single emoji, or empty to remove the reaction');
      }
      return;
    case 'mark_read':
      return;
  }
}

/** Checks a message against Meta's limits; the first rule it breaks is the error. */
export const validateOutboundMessage = (
  message: OutboundMessage,
): Result<OutboundMessage, MessageLimitViolation> => {
  const problem = firstViolation(messageChecks(message));
  return problem === undefined ? ok(message) : err(problem);
};

type WithoutType<T> = T extends unknown ? Omit<T, 'type'> : never;
type Fields<K extends OutboundMessageType> = WithoutType<Extract<OutboundMessage, { type: K }>>;

export const textMessage = (body: string, previewUrl = false) =>
  validateOutboundMessage({ type: 'text', body, previewUrl });
export const buttonsMessage = (fields: Fields<'buttons'>) =>
  validateOutboundMessage({ type: 'buttons', ...fields });
export const listMessage = (fields: Fields<'list'>) => validateOutboundMessage({ type: 'list', ...fields });
export const flowMessage = (fields: Fields<'flow'>) => validateOutboundMessage({ type: 'flow', ...fields });
export const templateMessage = (fields: Fields<'template'>) =>
  validateOutboundMessage({ type: 'template', ...fields });
export const reactionMessage = (messageId: Wamid, emoji: string) =>
  validateOutboundMessage({ type: 'reaction', messageId, emoji });
export const markReadMessage = (messageId: Wamid, typingIndicator = false) =>
  validateOutboundMessage({ type: 'mark_read', messageId, typingIndicator });
