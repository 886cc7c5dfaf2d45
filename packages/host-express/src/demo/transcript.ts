import type { InboundContent, OutboundMessage } from '@prestabot/domain';

/** How a message reads in the demo's transcript: text, then its buttons or list rows in brackets. */
export const describeOutbound = (message: OutboundMessage): string => {
  switch (message.type) {
    case 'text':
      return message.body;
    case 'buttons':
      return `${message.body}\n${message.buttons.map((button) => `[${button.title}]`).join(' ')}`;
    case 'list':
      return `${message.body}\n${message.sections.flatMap((section) => section.rows.map((row) => `  • ${row.title}${row.description === undefined ? '' : ` — ${row.description}`}`)).join('\n')}`;
    case 'flow':
      return `${message.body}\n[${message.cta}] (WhatsApp Flow ${message.flowId})`;
    case 'template': {
      const texts = message.components.flatMap((component) =>
        component.type === 'body'
          ? component.parameters.flatMap((parameter) => (parameter.type === 'text' ? [parameter.text] : []))
          : [],
      );
      const buttons = message.components.flatMap((component) =>
        component.type === 'quick_reply_button' ? [`[${component.payload.split(':').at(-1)}]`] : [],
      );
      return `(template ${message.name}, ${message.language}) ${texts.join(' · ')}${buttons.length === 0 ? '' : `\n${buttons.join(' ')}`}`;
    }
    case 'reaction':
      return `(reacts ${message.emoji})`;
    case 'mark_read':
      return '(marks as read)';
  }
};

export const describeInbound = (content: InboundContent): string => {
  switch (content.type) {
    case 'text':
      return content.body;
    case 'button_reply':
    case 'list_reply':
      return `(taps "${content.title}")`;
    case 'quick_reply':
      return `(taps "${content.text}")`;
    case 'contacts':
      return `(shares contact ${content.cards.map((card) => card.formattedName).join(', ')})`;
    case 'flow_reply':
      return '(completes the Flow)';
    default:
      return `(${content.type})`;
  }
};

const indent = (text: string, prefix: string) =>
  text
    .split('\n')
    .map((line, index) => (index === 0 ? line : `${' '.repeat(prefix.length)}${line}`))
    .join('\n');

export const printLine = (write: (line: string) => void, who: string, text: string): void => {
  const prefix = `${who}: `;
  write(`${prefix}${indent(text, prefix)}`);
};
