import { randomBytes } from 'node:crypto';
import type { Wamid } from '@prestabot/domain';
import type { AcceptedRecord, FakeNumber, FaultSettings } from './numbers.ts';

/** What the fake knows across its routes: its numbers, the messages it saw, the faults set for every number. */
export class GraphState {
  readonly numbers = new Map<string, FakeNumber>();
  /** Messages by wamid, for statuses; bounded like the per-number records. */
  readonly messagesByWamid = new Map<string, AcceptedRecord>();
  readonly inboundWamids = new Set<string>();
  globalFaults: FaultSettings = {};
  /** Accepted messages kept per number (the newest). */
  readonly maxRecordsPerNumber: number;
  readonly #wamidPrefix = randomBytes(6).toString('hex');
  #wamidSequence = 0;

  constructor(maxRecordsPerNumber: number) {
    this.maxRecordsPerNumber = maxRecordsPerNumber;
  }

  number(phoneNumberId: string): FakeNumber {
    const number = this.numbers.get(phoneNumberId);
    if (number === undefined) throw new Error(`the fake serves no number ${phoneNumberId}`);
    return number;
  }

  newWamid(phoneNumberId: string): Wamid {
    // Meta's wamids are base64 of an opaque structure; these only have to be unique and look the part.
    this.#wamidSequence += 1;
    return `wamid.${Buffer.from(`${phoneNumberId}:${this.#wamidPrefix}:${this.#wamidSequence}`).toString('base64')}` as Wamid;
  }

  rememberMessage(record: AcceptedRecord, wamid: Wamid): void {
    this.messagesByWamid.set(wamid, record);
    const max = this.maxRecordsPerNumber * Math.max(1, this.numbers.size);
    if (this.messagesByWamid.size > max) {
      const oldest = this.messagesByWamid.keys().next().value;
      if (oldest !== undefined) this.messagesByWamid.delete(oldest);
    }
  }
}
