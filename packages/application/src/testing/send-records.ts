import type { OutboxQueue } from '../ports/outbox.port.ts';
import type { SendRecorder } from '../send-queued-message/send-queued-message.ts';

/** Records each send's outcome as it comes, one write each: tests, where no group commit batches them. */
export const recordOneByOne = (outboxQueue: Pick<OutboxQueue, 'record'>): SendRecorder => ({
  record: (record) => outboxQueue.record([record]).map((recorded) => recorded[0] === true),
});
