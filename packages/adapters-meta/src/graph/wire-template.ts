import type { JsonObject, OutboundMessage, TemplateComponent, TemplateParameter } from '@prestabot/domain';
import { defined } from '@prestabot/domain';
import * as z from 'zod';

// Template messages on the wire: components and their parameters.

/** The `template` fields of a send body. */
export const templateFields = (message: Extract<OutboundMessage, { type: 'template' }>): JsonObject => ({
  type: 'template',
  template: {
    name: message.name,
    language: { code: message.language },
    ...(message.components.length === 0
      ? {}
      : { components: message.components.map(encodeTemplateComponent) }),
  },
});

const encodeTemplateComponent = (component: TemplateComponent): JsonObject => {
  switch (component.type) {
    case 'header':
    case 'body':
      return { type: component.type, parameters: component.parameters.map(encodeTemplateParameter) };
    case 'quick_reply_button':
      return {
        type: 'button',
        sub_type: 'quick_reply',
        index: String(component.index),
        parameters: [{ type: 'payload', payload: component.payload }],
      };
    case 'url_button':
      return {
        type: 'button',
        sub_type: 'url',
        index: String(component.index),
        parameters: [{ type: 'text', text: component.text }],
      };
  }
};

const encodeTemplateParameter = (parameter: TemplateParameter): JsonObject => {
  const name = defined({ parameter_name: parameter.name });
  switch (parameter.type) {
    case 'text':
      return { type: 'text', ...name, text: parameter.text };
    case 'currency':
      return {
        type: 'currency',
        ...name,
        currency: {
          fallback_value: parameter.fallback,
          code: parameter.code,
          amount_1000: parameter.amount1000,
        },
      };
    case 'date_time':
      return { type: 'date_time', ...name, date_time: { fallback_value: parameter.fallback } };
  }
};

const parameterName = { parameter_name: z.string().optional() };

const templateParameterSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text'), ...parameterName, text: z.string() }),
  z.looseObject({
    type: z.literal('currency'),
    ...parameterName,
    currency: z.looseObject({ fallback_value: z.string(), code: z.string(), amount_1000: z.number() }),
  }),
  z.looseObject({
    type: z.literal('date_time'),
    ...parameterName,
    date_time: z.looseObject({ fallback_value: z.string() }),
  }),
]);

/** Graph sends button indexes as strings; numbers are accepted too. */
const buttonIndex = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]);

const templateComponentSchema = z.union(
  [
    z.looseObject({
      type: z.enum(['header', 'body']),
      parameters: z.array(templateParameterSchema).default([]),
    }),
    z.looseObject({
      type: z.literal('button'),
      sub_type: z.literal('quick_reply'),
      index: buttonIndex,
      parameters: z.tuple([z.looseObject({ type: z.literal('payload'), payload: z.string() })]),
    }),
    z.looseObject({
      type: z.literal('button'),
      sub_type: z.literal('url'),
      index: buttonIndex,
      parameters: z.tuple([z.looseObject({ type: z.literal('text'), text: z.string() })]),
    }),
  ],
  { error: 'must be a header or body component, or a quick_reply or url button with one parameter' },
);

export const templateSchema = z.looseObject({
  name: z.string(),
  language: z.looseObject({ code: z.string() }),
  components: z.array(templateComponentSchema).default([]),
});

export const templateMessageOf = (template: z.output<typeof templateSchema>): OutboundMessage => ({
  type: 'template',
  name: template.name,
  language: template.language.code,
  components: template.components.map(templateComponentOf),
});

const templateComponentOf = (component: z.output<typeof templateComponentSchema>): TemplateComponent => {
  if (component.type !== 'button') {
    return { type: component.type, parameters: component.parameters.map(templateParameterOf) };
  }
  const [parameter] = component.parameters;
  return parameter.type === 'payload'
    ? { type: 'quick_reply_button', index: component.index, payload: parameter.payload }
    : { type: 'url_button', index: component.index, text: parameter.text };
};

const templateParameterOf = (parameter: z.output<typeof templateParameterSchema>): TemplateParameter => {
  const name = defined({ name: parameter.parameter_name });
  switch (parameter.type) {
    case 'text':
      return { type: 'text', text: parameter.text, ...name };
    case 'currency':
      return {
        type: 'currency',
        fallback: parameter.currency.fallback_value,
        code: parameter.currency.code,
        amount1000: parameter.currency.amount_1000,
        ...name,
      };
    case 'date_time':
      return { type: 'date_time', fallback: parameter.date_time.fallback_value, ...name };
  }
};
