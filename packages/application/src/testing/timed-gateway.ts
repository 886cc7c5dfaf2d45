import type { MessagingGateway, SendRequest } from '../ports/messaging-gateway.port.ts';
import type { ManualClock } from './manual-clock.ts';
import { RecordingGateway } from './recording-gateway.ts';

/** Records when each send reached Graph, on the manual clock. */
export class TimedGateway implements MessagingGateway {
  readonly inner: RecordingGateway;
  readonly sentAt: { readonly phoneNumberId: string; readonly at: Date }[] = [];
  readonly #clock: ManualClock;

  constructor(clock: ManualClock, inner = new RecordingGateway()) {
    this.#clock = clock;
    this.inner = inner;
  }

  send(request: SendRequest) {
    this.sentAt.push({ phoneNumberId: request.phoneNumberId, at: this.#clock.now() });
    return this.inner.send(request);
  }
}
