import type { PrunedRows, QueueDepth } from '@prestabot/application';
import * as z from 'zod';
import { present, storedTime } from './sql/column-types.ts';

// What the queue functions answer about the queues as a whole.

export const queueDepthRow = z
  .object({ pending: z.number().int(), oldest_at: storedTime.nullable(), held: z.number().int().nullish() })
  .transform(
    (row): QueueDepth => ({
      pending: row.pending,
      ...present('oldestAt', row.oldest_at),
      ...present('held', row.held ?? null),
    }),
  );

export const prunedRowsRow = z
  .object({ pruned_inbox: z.number().int(), pruned_outbox: z.number().int() })
  .transform((row): PrunedRows => ({ inbox: row.pruned_inbox, outbox: row.pruned_outbox }));

export const reopenedRow = z.object({ reopened: z.number().int() });
