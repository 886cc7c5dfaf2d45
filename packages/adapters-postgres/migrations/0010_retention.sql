-- Retention of finished queue rows. The inbox keeps every webhook item with its whole JSON and the outbox
-- every message sent or failed; once finished, neither is needed for long, and without pruning both grow
-- for ever. Loans, contacts and the message log live elsewhere and are kept.
--
-- Rows that are not finished (an inbox entry not processed yet, leased or not; an outbox message still
-- pending) are never pruned. The caller chooses the cutoff and must keep it at least 7 days back: Meta
-- redelivers a webhook for up to 7 days, and the inbox's unique (phone_number_id, delivery_key) is what
-- recognises a redelivery.

-- Finished rows in the order they finished, so a prune reads the oldest first and stops at its limit
-- instead of scanning the table. Processed and abandoned inbox entries both have processed_at.
CREATE INDEX inbox_processed ON prestabot.inbox (processed_at) WHERE processed_at IS NOT NULL;
CREATE INDEX outbox_finished ON prestabot.outbox ((coalesce(sent_at, failed_at))) WHERE status <> 'pending';

-- A reminder names the outbox message it became. The foreign key stays (it keeps the message in the
-- reminder's tenant), and the prune clears the reference before deleting the message: ON DELETE SET NULL
-- would null tenant_id too, and naming only outbox_id needs PostgreSQL 15. This index makes clearing it,
-- and the key's check on each deleted message, index probes instead of scans of every reminder.
CREATE INDEX reminders_by_outbox ON prestabot.reminders (outbox_id) WHERE outbox_id IS NOT NULL;

-- Deletes, across tenants, up to p_limit inbox entries processed (or abandoned) before p_before and up to
-- p_limit outbox messages sent or failed before p_before, oldest first; returns how many of each. Rows
-- another prune holds are skipped, so several workers may prune at once. Call it again while a count
-- reaches p_limit. Each batch is picked from the finished-at index, then deleted by primary key.
CREATE FUNCTION prestabot.prune_finished(p_before timestamptz, p_limit integer)
RETURNS TABLE (pruned_inbox integer, pruned_outbox integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- Planned for the actual cutoff and limit each time: planning is nothing next to deleting a batch.
SET plan_cache_mode = force_custom_plan
-- Every statement here has an index to go by. A batch is a small share of a large table, yet the planner
-- would rather read all of it than probe the primary key a few thousand times: on 400,000 inbox rows,
-- deleting a batch of 5,000 took 120 ms that way instead of 35.
SET enable_seqscan = off
AS $$
DECLARE
  finished_inbox uuid[];
  finished_outbox uuid[];
BEGIN
  PERFORM prestabot.assert_unscoped();

  SELECT coalesce(array_agg(chosen.id), '{}') INTO finished_inbox
  FROM (
    SELECT e.id
    FROM prestabot.inbox e
    WHERE e.processed_at < p_before
    ORDER BY e.processed_at
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  ) chosen;
  DELETE FROM prestabot.inbox e WHERE e.id = ANY (finished_inbox);
  GET DIAGNOSTICS pruned_inbox = ROW_COUNT;

  SELECT coalesce(array_agg(chosen.id), '{}') INTO finished_outbox
  FROM (
    SELECT o.id
    FROM prestabot.outbox o
    WHERE o.status <> 'pending' AND coalesce(o.sent_at, o.failed_at) < p_before
    ORDER BY coalesce(o.sent_at, o.failed_at)
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  ) chosen;
  UPDATE prestabot.reminders r SET outbox_id = NULL WHERE r.outbox_id = ANY (finished_outbox);
  DELETE FROM prestabot.outbox o WHERE o.id = ANY (finished_outbox);
  GET DIAGNOSTICS pruned_outbox = ROW_COUNT;

  RETURN NEXT;
END
$$;

REVOKE ALL ON FUNCTION prestabot.prune_finished(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prestabot.prune_finished(timestamptz, integer) TO prestabot_app;
