import {
  defined,
  type FlowAction,
  type JsonObject,
  type ListSection,
  type OutboundMessage,
} from '@prestabot/domain';
import * as z from 'zod';
import { flowDataSchema } from '../flows/flow-data.ts';

// Interactive messages on the wire: reply buttons, lists and Flows.

const flowMessageVersion = '3';

type InteractiveMessage = Extract<OutboundMessage, { type: 'buttons' | 'list' | 'flow' }>;

/** The `interactive` fields of a send body. */
export const interactiveFields = (message: InteractiveMessage): JsonObject => {
  switch (message.type) {
    case 'buttons':
      return interactive('button', message, {
        buttons: message.buttons.map((button) => ({
          type: 'reply',
          reply: { id: button.id, title: button.title },
        })),
      });
    case 'list':
      return interactive('list', message, {
        button: message.buttonLabel,
        sections: message.sections.map(encodeSection),
      });
    case 'flow':
      return interactive('flow', message, {
        name: 'flow',
        parameters: {
          flow_message_version: flowMessageVersion,
          flow_id: message.flowId,
          flow_token: message.flowToken,
          flow_cta: message.cta,
          mode: message.mode,
          flow_action: message.action.type,
          ...(message.action.type === 'navigate'
            ? {
                flow_action_payload: {
                  screen: message.action.screen,
                  ...defined({ data: message.action.data }),
                },
              }
            : {}),
        },
      });
  }
};

const interactive = (
  type: string,
  frame: { readonly body: string; readonly header?: string; readonly footer?: string },
  action: JsonObject,
): JsonObject => ({
  type: 'interactive',
  interactive: {
    type,
    ...(frame.header === undefined ? {} : { header: { type: 'text', text: frame.header } }),
    body: { text: frame.body },
    ...(frame.footer === undefined ? {} : { footer: { text: frame.footer } }),
    action,
  },
});

const encodeSection = (section: ListSection): JsonObject => ({
  ...defined({ title: section.title }),
  rows: section.rows.map((row) => ({
    id: row.id,
    title: row.title,
    ...defined({ description: row.description }),
  })),
});

const textField = z.looseObject({ text: z.string() });

const frameShape = {
  header: z.looseObject({ type: z.literal('text'), text: z.string() }).optional(),
  body: textField,
  footer: textField.optional(),
};

const buttonsSchema = z.looseObject({
  type: z.literal('button'),
  ...frameShape,
  action: z.looseObject({
    buttons: z.array(
      z.looseObject({
        type: z.literal('reply'),
        reply: z.looseObject({ id: z.string(), title: z.string() }),
      }),
    ),
  }),
});

const listSchema = z.looseObject({
  type: z.literal('list'),
  ...frameShape,
  action: z.looseObject({
    button: z.string(),
    sections: z.array(
      z.looseObject({
        title: z.string().optional(),
        rows: z.array(
          z.looseObject({ id: z.string(), title: z.string(), description: z.string().optional() }),
        ),
      }),
    ),
  }),
});

const flowSchema = z.looseObject({
  type: z.literal('flow'),
  ...frameShape,
  action: z.looseObject({
    name: z.literal('flow'),
    parameters: z.looseObject({
      flow_message_version: z.literal(flowMessageVersion),
      flow_id: z.string({ error: 'is required (sending by flow_name is not supported)' }),
      flow_token: z.string(),
      flow_cta: z.string(),
      mode: z.enum(['published', 'draft']).default('published'),
      flow_action: z.enum(['navigate', 'data_exchange']).default('navigate'),
      flow_action_payload: z.looseObject({ screen: z.string(), data: flowDataSchema.optional() }).optional(),
    }),
  }),
});

export const interactiveSchema = z.discriminatedUnion('type', [buttonsSchema, listSchema, flowSchema]);

const frameOf = (interactive: {
  readonly header?: { readonly text: string } | undefined;
  readonly body: { readonly text: string };
  readonly footer?: { readonly text: string } | undefined;
}) => ({
  body: interactive.body.text,
  ...(interactive.header === undefined ? {} : { header: interactive.header.text }),
  ...(interactive.footer === undefined ? {} : { footer: interactive.footer.text }),
});

export const interactiveMessageOf = (interactive: z.output<typeof interactiveSchema>): OutboundMessage => {
  switch (interactive.type) {
    case 'button':
      return {
        type: 'buttons',
        ...frameOf(interactive),
        buttons: interactive.action.buttons.map(({ reply }) => ({ id: reply.id, title: reply.title })),
      };
    case 'list':
      return {
        type: 'list',
        ...frameOf(interactive),
        buttonLabel: interactive.action.button,
        sections: interactive.action.sections.map((section) => ({
          ...defined({ title: section.title }),
          rows: section.rows.map((row) => ({
            id: row.id,
            title: row.title,
            ...defined({ description: row.description }),
          })),
        })),
      };
    case 'flow': {
      const parameters = interactive.action.parameters;
      const payload = parameters.flow_action_payload;
      const action: FlowAction =
        parameters.flow_action === 'data_exchange'
          ? { type: 'data_exchange' }
          : {
              type: 'navigate',
              // An absent screen is caught by validateOutboundMessage (`action.screen must not be empty`).
              screen: payload?.screen ?? '',
              ...(payload?.data === undefined ? {} : { data: payload.data }),
            };
      return {
        type: 'flow',
        ...frameOf(interactive),
        flowId: parameters.flow_id,
        flowToken: parameters.flow_token,
        cta: parameters.flow_cta,
        mode: parameters.mode,
        action,
      };
    }
  }
};
