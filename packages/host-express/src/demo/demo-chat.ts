import type { InboundContent, OutboundMessage } from '@prestabot/domain';
import { FakeFlowsClient, type FakeGraph } from '@prestabot/fake-graph';
import { describeInbound, describeOutbound, printLine } from './transcript.ts';

export type Person = { readonly name: string; readonly waId: string };
export type DemoNumber = {
  readonly label: string;
  readonly phoneNumberId: string;
  readonly accessToken: string;
  /** The WhatsApp Business Account the number belongs to, at the fake and in the tenant's record. */
  readonly wabaId: string;
  readonly people: readonly Person[];
};

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Buttons, list rows and template quick replies of a message, as (title, id) pairs a person can tap. */
export const tappables = (
  message: OutboundMessage,
): { readonly title: string; readonly id: string; readonly quickReply: boolean }[] => {
  if (message.type === 'buttons')
    return message.buttons.map((button) => ({ title: button.title, id: button.id, quickReply: false }));
  if (message.type === 'list')
    return message.sections.flatMap((section) =>
      section.rows.map((row) => ({ title: row.title, id: row.id, quickReply: false })),
    );
  if (message.type === 'template') {
    return message.components.flatMap((component) =>
      component.type === 'quick_reply_button'
        ? [{ title: component.payload.split(':').at(-1) ?? '', id: component.payload, quickReply: true }]
        : [],
    );
  }
  return [];
};

/** People chatting with the bot through the fake Graph API, and the transcript of what they see. */
export class DemoChat {
  readonly #fake: FakeGraph;
  readonly #write: (line: string) => void;
  readonly #appSecret: string;
  readonly #seen = new Map<string, number>();

  constructor(fake: FakeGraph, appSecret: string, write: (line: string) => void) {
    this.#fake = fake;
    this.#appSecret = appSecret;
    this.#write = write;
  }

  async say(number: DemoNumber, person: Person, content: InboundContent): Promise<void> {
    printLine(this.#write, `  ${number.label} │ ${person.name}`, describeInbound(content));
    const [delivery] = await this.#fake.emitWebhook([
      {
        kind: 'message',
        phoneNumberId: number.phoneNumberId,
        from: { waId: person.waId, profileName: person.name },
        content,
      },
    ]);
    const status = delivery?.attempts.at(-1)?.status;
    if (status !== 200) throw new Error(`the bot answered ${status} to a webhook`);
    await this.settle(number);
  }

  text(number: DemoNumber, person: Person, body: string): Promise<void> {
    return this.say(number, person, { type: 'text', body });
  }

  /**
   * Taps the button (or list row, or template quick reply) titled `title` in the last message the person got,
   * once it has arrived: a notice to someone else than the writer may leave a moment after the reply does.
   */
  async tap(number: DemoNumber, person: Person, title: string): Promise<void> {
    const find = () => {
      const last = this.#messagesTo(number, person).findLast((message) =>
        tappables(message).some((item) => item.title === title),
      );
      return last === undefined ? undefined : tappables(last).find((item) => item.title === title);
    };
    let target = find();
    if (target === undefined) {
      for (let waited = 0; target === undefined && waited < 10_000; waited += 100) {
        await sleep(100);
        target = find();
      }
      // What arrived while waiting goes in the transcript before the tap.
      if (target !== undefined) await this.settle(number);
    }
    if (target === undefined) throw new Error(`${person.name} has no "${title}" to tap`);
    await this.say(
      number,
      person,
      target.quickReply
        ? { type: 'quick_reply', text: title, payload: target.id }
        : { type: 'button_reply', id: target.id, title },
    );
  }

  /** Prints what the number sent since the last look, once it has been quiet for a moment. */
  async settle(number: DemoNumber): Promise<void> {
    // Quiet means nothing new for a few polls: a number sends one message per person at a time.
    let count = -1;
    let quietPolls = 0;
    for (let waited = 0; waited < 10_000 && quietPolls < 3; waited += 100) {
      await sleep(100);
      const now = this.#fake.accepted(number.phoneNumberId).length;
      quietPolls = now === count && now > (this.#seen.get(number.phoneNumberId) ?? 0) ? quietPolls + 1 : 0;
      count = now;
    }
    const accepted = this.#fake.accepted(number.phoneNumberId);
    for (const message of accepted.slice(this.#seen.get(number.phoneNumberId) ?? 0)) {
      if (message.message.type === 'mark_read') continue;
      const to = number.people.find(
        (person) =>
          message.recipient !== undefined &&
          'phone' in message.recipient &&
          message.recipient.phone === `+${person.waId}`,
      );
      printLine(
        this.#write,
        `  ${number.label} │ bot → ${to?.name ?? 'someone else'}`,
        describeOutbound(message.message),
      );
    }
    this.#seen.set(number.phoneNumberId, accepted.length);
  }

  /**
   * The person opens the last Flow they got and fills it in, as WhatsApp would: every screen request
   * encrypted to the number's registered key, sent to the bot's Flows endpoint; then the completion.
   */
  async fillFlow(
    number: DemoNumber,
    person: Person,
    endpointUrl: string,
    form: Readonly<Record<string, string>>,
  ): Promise<{ readonly flowId: string; readonly saved: boolean }> {
    const flow = this.#messagesTo(number, person).findLast((message) => message.type === 'flow');
    if (flow?.type !== 'flow') throw new Error(`${person.name} has no Flow to open`);
    const publicKeyOf = () => {
      const key = this.#fake.businessPublicKey(number.phoneNumberId);
      if (key === undefined) throw new Error(`number ${number.label} has no Flows key registered`);
      return key;
    };
    const client = new FakeFlowsClient({
      endpointUrl: `${endpointUrl}?number=${number.phoneNumberId}`,
      publicKeyPem: publicKeyOf(),
      refetchPublicKey: async () => publicKeyOf(),
      appSecret: this.#appSecret,
    });
    const opened = await client.init(flow.flowToken);
    printLine(
      this.#write,
      `  ${number.label} │ ${person.name}`,
      `(opens Flow ${flow.flowId}: screen ${String(opened.response?.['screen'])}, encrypted, HTTP ${opened.status})`,
    );
    printLine(
      this.#write,
      `  ${number.label} │ ${person.name}`,
      `(fills in ${Object.values(form)
        .filter((value) => value !== '')
        .join(' · ')})`,
    );
    const submitted = await client.dataExchange(flow.flowToken, 'PROFILE', form);
    const saved = submitted.status === 200 && submitted.response?.['screen'] === 'SUCCESS';
    printLine(
      this.#write,
      `  ${number.label} │ Flows endpoint`,
      saved ? '(saved; the Flow closes)' : `(refused: HTTP ${submitted.status})`,
    );
    await this.say(number, person, {
      type: 'flow_reply',
      name: 'flow',
      body: 'Sent',
      responseJson: JSON.stringify({ flow_token: flow.flowToken }),
    });
    return { flowId: flow.flowId, saved };
  }

  /** Everything the number sent the person, in the order it was sent. */
  received(number: DemoNumber, person: Person): OutboundMessage[] {
    return this.#messagesTo(number, person);
  }

  #messagesTo(number: DemoNumber, person: Person): OutboundMessage[] {
    return this.#fake
      .accepted(number.phoneNumberId)
      .filter(
        (message) =>
          message.recipient !== undefined &&
          'phone' in message.recipient &&
          message.recipient.phone === `+${person.waId}`,
      )
      .map((message) => message.message);
  }
}
