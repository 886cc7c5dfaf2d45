import type { SendRecorder } from '../dispatch-outbox/send-queued-message.ts';
import type { OutboxQueue } from '../ports/outbox.port.ts';

/** Records each send's outcome as it comes, one write each: tests, where no group commit batches them. */
export const recordOneByOne = (outboxQueue: Pick<OutboxQueue, 'record'>): SendRecorder => ({
  record: (record) => outboxQueue.record([record]).map((recorded) => recorded[0] === true),
});
