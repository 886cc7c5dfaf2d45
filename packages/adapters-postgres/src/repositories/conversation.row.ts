import type { ConversationRecord } from '@prestabot/application';
import * as z from 'zod';
import { storedTime } from '../sql/column-types.ts';

// The conversations' rows (`prestabot.conversations`): where a person is in a flow.

export const conversationRow = z
  .object({ state: z.json(), version: z.number().int().positive(), expires_at: storedTime })
  .transform(
    (row): ConversationRecord => ({ state: row.state, version: row.version, expiresAt: row.expires_at }),
  );
