-- The retention job found finished queue rows through two indexes by finishing time (0010): inbox_processed
-- and outbox_finished. Every entry the inbox stores done, or marks done later, and every message marked sent
-- or failed wrote one more index entry for them, about 66 bytes of WAL each, two a message: 3 % of what a
-- message still writes, for a job that runs a few times an hour.
--
-- Ids are UUIDv7 (timeOrderedUuid): their first 48 bits are the millisecond the row was made, and a row is
-- made before it finishes. So the rows finished before a cutoff are among those whose key is below the
-- cutoff's millisecond, which the primary key already finds in order. The finishing-time indexes now hold
-- only rows whose ids are not time-ordered: those written before ids were, and those of an embedding that
-- brings its own id generator.
--
-- What the prune deletes is unchanged: rows finished before the cutoff, never an unfinished one. A row made
-- on a host whose clock ran ahead of the one that finished it waits for a later prune; none goes sooner.

-- Whether an id carries the time it was made: the version nibble of a UUIDv7.
-- Inlined where it is called, so the prune's conditions match the partial indexes' predicates below.
CREATE FUNCTION prestabot.time_ordered_id(p_id uuid) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT substr(p_id::text, 15, 1) = '7' $$;

-- The lowest UUIDv7 made at p_at's millisecond: every time-ordered id made earlier sorts below it.
CREATE FUNCTION prestabot.time_ordered_id_floor(p_at timestamptz) RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT (lpad(to_hex(greatest(0, floor(extract(epoch FROM p_at) * 1000))::bigint), 12, '0')
          || '00000000000000000000')::uuid
$$;

DROP INDEX prestabot.inbox_processed;
CREATE INDEX inbox_processed_random_ids ON prestabot.inbox (processed_at)
  WHERE processed_at IS NOT NULL AND NOT prestabot.time_ordered_id(id);

DROP INDEX prestabot.outbox_finished;
CREATE INDEX outbox_finished_random_ids ON prestabot.outbox ((coalesce(sent_at, failed_at)))
  WHERE status <> 'pending' AND NOT prestabot.time_ordered_id(id);

-- As in 0015, with each queue's batch taken first from the rows with random ids, earliest finished first,
-- then from the time-ordered ones, earliest made first, through the primary key.
CREATE OR REPLACE FUNCTION prestabot.prune_finished(p_before timestamptz, p_limit integer)
RETURNS TABLE (pruned_inbox integer, pruned_outbox integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
SET enable_seqscan = off
-- A batch of time-ordered rows is the first few of the primary key's range below the cutoff: read in key
-- order, the scan stops at its limit, where a bitmap of the range would read every row made before it.
SET enable_bitmapscan = off
AS $$
DECLARE
  finished_inbox uuid[];
  finished_outbox uuid[];
  made_before uuid;
BEGIN
  PERFORM prestabot.assert_unscoped();
  IF p_before IS NULL OR p_before > now() - interval '7 days' + interval '5 minutes' THEN
    RAISE EXCEPTION 'prune_finished: the cutoff % is less than 7 days ago; Meta may still redeliver what it would delete', p_before
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  made_before := prestabot.time_ordered_id_floor(p_before);

  SELECT coalesce(array_agg(chosen.id), '{}') INTO finished_inbox
  FROM (
    SELECT e.id
    FROM prestabot.inbox e
    WHERE e.processed_at < p_before AND NOT prestabot.time_ordered_id(e.id)
    ORDER BY e.processed_at
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  ) chosen;
  SELECT finished_inbox || coalesce(array_agg(chosen.id), '{}') INTO finished_inbox
  FROM (
    SELECT e.id
    FROM prestabot.inbox e
    WHERE e.id < made_before AND prestabot.time_ordered_id(e.id) AND e.processed_at < p_before
    ORDER BY e.id
    LIMIT p_limit - cardinality(finished_inbox)
    FOR UPDATE SKIP LOCKED
  ) chosen;
  DELETE FROM prestabot.inbox e WHERE e.id = ANY (finished_inbox);
  GET DIAGNOSTICS pruned_inbox = ROW_COUNT;

  SELECT coalesce(array_agg(chosen.id), '{}') INTO finished_outbox
  FROM (
    SELECT o.id
    FROM prestabot.outbox o
    WHERE o.status <> 'pending' AND NOT prestabot.time_ordered_id(o.id)
      AND coalesce(o.sent_at, o.failed_at) < p_before
    ORDER BY coalesce(o.sent_at, o.failed_at)
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  ) chosen;
  SELECT finished_outbox || coalesce(array_agg(chosen.id), '{}') INTO finished_outbox
  FROM (
    SELECT o.id
    FROM prestabot.outbox o
    WHERE o.id < made_before AND prestabot.time_ordered_id(o.id)
      AND o.status <> 'pending' AND coalesce(o.sent_at, o.failed_at) < p_before
    ORDER BY o.id
    LIMIT p_limit - cardinality(finished_outbox)
    FOR UPDATE SKIP LOCKED
  ) chosen;
  UPDATE prestabot.reminders r SET outbox_id = NULL WHERE r.outbox_id = ANY (finished_outbox);
  DELETE FROM prestabot.outbox o WHERE o.id = ANY (finished_outbox);
  GET DIAGNOSTICS pruned_outbox = ROW_COUNT;

  RETURN NEXT;
END
$$;
