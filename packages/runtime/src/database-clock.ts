import type { PostgresStorage } from '@prestabot/adapters-postgres';
import { type Clock, DatabaseClock, type Logger } from '@prestabot/application';
import { systemClock } from './wiring.ts';

/** How often a process measures again how far its clock is from the database's. */
const clockResyncMs = 60_000;
/** An offset worth telling the operator about: NTP keeps machines far closer. */
const notableClockOffsetMs = 1000;

/**
 * The database's clock, read through this machine's: leases, send slots and retries of every process are
 * placed on one clock, so a machine whose clock is off cannot take another's leased work as expired and
 * send it again. Measured once now, then again every minute in the background.
 */
export const databaseClockOf = async (storage: PostgresStorage, logger: Logger): Promise<Clock> => {
  const clock = new DatabaseClock(systemClock, () => storage.databaseTime(), {
    resyncEveryMs: clockResyncMs,
  });
  const offset = await clock.sync();
  if (offset.isErr())
    logger.warn(
      { error: offset.error.reason },
      `cannot read the database's clock; using this machine's until it can`,
    );
  else if (Math.abs(offset.value) >= notableClockOffsetMs)
    logger.warn(
      { offsetMs: Math.round(offset.value) },
      "this machine's clock is off the database's; leases and send slots use the database's",
    );
  return clock;
};
