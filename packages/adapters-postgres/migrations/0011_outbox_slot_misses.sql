-- How many times a message's send slot passed before it could leave. Under sustained overload every
-- timer fires late and every storage call is slow: with a fixed deadline, a requeued message missed its
-- next slot too, and nothing was sent at all. After a few misses (`maxSlotMisses`) a message goes when it
-- can; the process's rate guard still keeps that process at the number's rate.
-- No CHECK: with one, adding the column would scan the whole outbox under an exclusive lock; the
-- application only ever adds one to it.
ALTER TABLE prestabot.outbox ADD COLUMN slot_misses integer NOT NULL DEFAULT 0;
