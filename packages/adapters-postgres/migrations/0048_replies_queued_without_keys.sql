-- A reply is queued without an idempotency key. Its key (`reply:<entry id>:<n>`) was unique by making: the
-- unit of work that queues an entry's replies is the one that completes the entry, under the entry's lease,
-- and both commit together, so no second unit of work queues them. Checking it anyway cost every reply an
-- entry in the key's index, a second one when the reply was marked sent (that update cannot be HOT), their
-- share of the index's page splits (the keys are digests, spread over the whole index), and the record
-- that confirms a speculative insert: about 270 bytes of WAL a message, measured by pg_waldump.
--
-- Every other message keeps its key (reminders, notifications, fallbacks, sends from the command line):
-- the index now holds only those. The enqueue names the index's predicate in its ON CONFLICT, and inserts
-- keyless entries by a statement without one. A process still running the code before this one names the
-- index without the predicate, which no longer matches it: its enqueue fails, its unit of work is undone,
-- and the entry or webhook is worked on again by a process on this version, as after 0041.

ALTER TABLE prestabot.outbox ALTER COLUMN idempotency_key DROP NOT NULL;
CREATE UNIQUE INDEX outbox_idempotency_keyed ON prestabot.outbox (tenant_id, (md5(idempotency_key)::uuid))
  WHERE idempotency_key IS NOT NULL;
DROP INDEX prestabot.outbox_idempotency_digest;
ALTER INDEX prestabot.outbox_idempotency_keyed RENAME TO outbox_idempotency_digest;
