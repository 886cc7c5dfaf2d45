import { fc, test } from '@fast-check/vitest';
import {
  type E164,
  type ListSection,
  messageLimits,
  type OutboundMessage,
  type Recipient,
  type TemplateComponent,
  type TemplateParameter,
  validateOutboundMessage,
  type Wamid,
} from '@prestabot/domain';
import { expect } from 'vitest';
import { decodeSendBody, encodeSendBody, type OutboundEnvelope } from './wire.ts';

/** Any Unicode text (emoji, accents, `/`, quotes) of a length Meta allows, counted in code points. */
const text = (maxLength: number, minLength = 1) => fc.string({ unit: 'binary', minLength, maxLength });
const optionalText = (maxLength: number) => fc.option(text(maxLength), { nil: undefined });

/** Ids Meta accepts: no surrounding spaces. */
const id = (maxLength: number) => text(maxLength).filter((value) => value.trim() === value);

const wamid = fc
  .base64String({ minLength: 8, maxLength: 64 })
  .filter((value) => value.length > 0)
  .map((value) => `wamid.${value}` as Wamid);

/** Fields that may be `undefined` become optional ones, left out when absent (exactOptionalPropertyTypes). */
type Defined<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

const withOptional = <T extends object>(value: T): Defined<T> =>
  Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Defined<T>;

const frame = fc.record({
  body: text(messageLimits.interactiveBody),
  header: optionalText(messageLimits.headerText),
  footer: optionalText(messageLimits.footerText),
});

const buttons = fc.record({
  frame,
  buttons: fc.uniqueArray(
    fc.record({ id: id(messageLimits.buttonId), title: text(messageLimits.buttonTitle) }),
    {
      minLength: 1,
      maxLength: messageLimits.buttonsMax,
      selector: (button) => button.id,
    },
  ),
});

const listSections = fc
  .uniqueArray(
    fc.record({
      id: id(messageLimits.listRowId),
      title: text(messageLimits.listRowTitle),
      description: optionalText(messageLimits.listRowDescription),
    }),
    { minLength: 1, maxLength: messageLimits.listRowsTotalMax, selector: (row) => row.id },
  )
  .chain((rows) =>
    fc.integer({ min: 1, max: rows.length }).chain((sectionCount) =>
      fc
        .array(optionalText(messageLimits.listSectionTitle), {
          minLength: sectionCount,
          maxLength: sectionCount,
        })
        .map((titles): ListSection[] =>
          titles.map((title, index) =>
            withOptional({
              // Sections need a title when there are several.
              title: sectionCount > 1 ? (title ?? `Section ${index}`) : title,
              rows: rows.filter((_, rowIndex) => rowIndex % sectionCount === index).map(withOptional),
            }),
          ),
        ),
    ),
  );

// Data as JSON carries it: fc.jsonValue can yield -0, which any JSON text (Meta's included) turns into 0.
const flowData = fc
  .dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), {
    minKeys: 1,
    maxKeys: 4,
  })
  .map((data) => JSON.parse(JSON.stringify(data)) as typeof data);

const parameterName = fc.stringMatching(/^[a-z_]{1,20}$/);

const templateParameter = (name: string | undefined): fc.Arbitrary<TemplateParameter> =>
  fc.oneof(
    text(200).map((value) => withOptional({ type: 'text' as const, text: value, name })),
    fc
      .record({
        fallback: text(40),
        code: fc.constantFrom('CLP', 'USD', 'BRL', 'EUR'),
        amount1000: fc.integer({ min: 0, max: 10_000_000_000 }),
      })
      .map((currency) => withOptional({ type: 'currency' as const, ...currency, name })),
    text(40).map((fallback) => withOptional({ type: 'date_time' as const, fallback, name })),
  );

/** All of a component's parameters are named, or none is. */
const templateParameters = fc
  .boolean()
  .chain((named) =>
    fc
      .uniqueArray(parameterName, { maxLength: 4 })
      .chain((names) => fc.tuple(...names.map((name) => templateParameter(named ? name : undefined)))),
  );

const templateComponent: fc.Arbitrary<TemplateComponent> = fc.oneof(
  fc
    .tuple(fc.constantFrom('header' as const, 'body' as const), templateParameters)
    .map(([type, parameters]) => ({ type, parameters })),
  fc
    .record({ index: fc.integer({ min: 0, max: 9 }), payload: text(messageLimits.buttonId) })
    .map((button) => ({ type: 'quick_reply_button' as const, ...button })),
  fc
    .record({ index: fc.integer({ min: 0, max: 9 }), text: text(messageLimits.buttonId) })
    .map((button) => ({ type: 'url_button' as const, ...button })),
);

const outboundMessage: fc.Arbitrary<OutboundMessage> = fc.oneof(
  fc
    .record({ body: text(messageLimits.textBody), previewUrl: fc.boolean() })
    .map((fields) => ({ type: 'text' as const, ...fields })),
  buttons.map(({ frame, buttons }) => withOptional({ type: 'buttons' as const, ...frame, buttons })),
  fc
    .record({ frame, buttonLabel: text(messageLimits.listButtonLabel), sections: listSections })
    .map(({ frame, ...list }) => withOptional({ type: 'list' as const, ...frame, ...list })),
  fc
    .record({
      frame,
      flowId: fc.stringMatching(/^[0-9]{1,20}$/),
      flowToken: text(300),
      cta: fc.stringMatching(/^[A-Za-zÁÉÍÓÚáéíóúñ ]{1,20}$/),
      mode: fc.constantFrom('published' as const, 'draft' as const),
      action: fc.oneof(
        fc.constant({ type: 'data_exchange' as const }),
        fc
          .record({
            screen: fc.stringMatching(/^[A-Z_]{1,20}$/),
            data: fc.option(flowData, { nil: undefined }),
          })
          .map((navigate) => withOptional({ type: 'navigate' as const, ...navigate })),
      ),
    })
    .map(({ frame, ...flow }) => withOptional({ type: 'flow' as const, ...frame, ...flow })),
  fc
    .record({
      name: fc.stringMatching(/^[a-z0-9_]{1,40}$/),
      language: fc.constantFrom('es', 'es_CL', 'en_US', 'pt_BR'),
      components: fc.array(templateComponent, { maxLength: 5 }),
    })
    .map((template) => ({ type: 'template' as const, ...template })),
  fc
    .record({ messageId: wamid, emoji: fc.constantFrom('', '👍', '❤️', '😂', '🙏🏽', '🇨🇱') })
    .map((reaction) => ({ type: 'reaction' as const, ...reaction })),
  fc
    .record({ messageId: wamid, typingIndicator: fc.boolean() })
    .map((markRead) => ({ type: 'mark_read' as const, ...markRead })),
);

const recipient: fc.Arbitrary<Recipient> = fc.oneof(
  fc.stringMatching(/^\+[1-9][0-9]{7,14}$/).map((phone) => ({ phone: phone as E164 })),
  fc.stringMatching(/^[A-Z]{2}\.[A-Za-z0-9]{1,128}$/).map((userId) => ({ userId })),
);

const envelope: fc.Arbitrary<OutboundEnvelope> = outboundMessage
  .filter((message) => validateOutboundMessage(message).isOk())
  .chain(
    (message): fc.Arbitrary<OutboundEnvelope> =>
      message.type === 'mark_read'
        ? fc.constant({ message })
        : fc
            .record({
              recipient,
              replyTo: fc.option(wamid, { nil: undefined }),
              callbackData: fc.option(text(128), { nil: undefined }),
            })
            .map((fields) => withOptional({ message, ...fields })),
  );

test.prop([envelope], { numRuns: 500 })(
  'every valid message survives encoding, JSON and decoding unchanged',
  (sent) => {
    const overTheWire: unknown = JSON.parse(JSON.stringify(encodeSendBody(sent)));
    const received = decodeSendBody(overTheWire);
    expect(received._unsafeUnwrap()).toEqual(sent);
    expect(validateOutboundMessage(received._unsafeUnwrap().message).isOk()).toBe(true);
  },
);
