import type { LeasedQueue } from '@prestabot/application';
import type { LeaseKeeper } from './lease-keeper.ts';

/** A lease keeper that only remembers what a worker has it hold, as `queue:id`. */
export class RecordingLeases implements Pick<LeaseKeeper, 'hold' | 'release'> {
  readonly held = new Set<string>();

  hold(queue: LeasedQueue, ids: readonly string[]): void {
    for (const id of ids) this.held.add(`${queue}:${id}`);
  }

  release(queue: LeasedQueue, ids: readonly string[]): void {
    for (const id of ids) this.held.delete(`${queue}:${id}`);
  }
}
