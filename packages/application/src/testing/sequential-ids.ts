import type { IdGenerator } from '../ports/id-generator.port.ts';

/** Predictable, valid UUIDs: `…-000000000001`, `…-000000000002`, … with a per-generator prefix. */
export class SequentialIds implements IdGenerator {
  #next = 0;
  readonly #prefix: string;

  constructor(prefix = 0) {
    this.#prefix = prefix.toString(16).padStart(8, '0').slice(-8);
  }

  uuid(): string {
    this.#next += 1;
    return `${this.#prefix}-0000-4000-8000-${this.#next.toString(16).padStart(12, '0')}`;
  }
}
