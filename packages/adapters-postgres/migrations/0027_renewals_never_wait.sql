-- renew_leases of 0019, without waiting for rows another statement holds. The heartbeat's UPDATE used to
-- queue behind every transaction that was settling one of the rows it renews (an entry's completion, a
-- send's outcome), and every settling that came after queued behind the heartbeat: at 75 messages/s one
-- renewal waited up to a second, and completions waited up to 830 ms behind it. Now a row locked at that
-- moment is skipped, and answered as still held: it is this process's own work being settled (another
-- process can take a row only once its lease has run out), so the heartbeat keeps it and renews it at the
-- next beat if it is still unfinished, well inside its lease. Dynamic SQL, one text for the three queues:
-- planned on each call, which a heartbeat every 2 s can afford.
CREATE OR REPLACE FUNCTION prestabot.renew_leases(
  p_queue text, p_owner text, p_ids uuid[], p_lease_ms integer, p_now timestamptz
)
RETURNS SETOF uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  renewed_until constant timestamptz := p_now + p_lease_ms * interval '1 millisecond';
  -- A row of the queue whose work is not settled yet, still leased to the caller.
  still_held constant text := CASE p_queue
    WHEN 'inbox' THEN 'q.processed_at IS NULL'
    WHEN 'outbox' THEN 'q.status = ''pending'''
    WHEN 'reminders' THEN 'q.status = ''pending'''
  END || ' AND q.lease_owner = $2 AND q.leased_until > $3';
  -- The rows still held, as they stood when the call began.
  held uuid[];
  -- Those of them no other statement has locked: these are renewed.
  free uuid[];
BEGIN
  PERFORM prestabot.assert_unscoped();
  IF still_held IS NULL THEN
    RAISE EXCEPTION 'renew_leases: no queue %', p_queue USING ERRCODE = '22023';
  END IF;
  EXECUTE format('SELECT coalesce(array_agg(q.id), ''{}'') FROM prestabot.%I q WHERE q.id = ANY ($1) AND %s',
                 p_queue, still_held)
    INTO held USING p_ids, p_owner, p_now;
  EXECUTE format('SELECT coalesce(array_agg(locked.id), ''{}'') FROM (SELECT q.id FROM prestabot.%I q '
                 'WHERE q.id = ANY ($1) FOR UPDATE SKIP LOCKED) locked', p_queue)
    INTO free USING held;
  RETURN QUERY EXECUTE format(
    'UPDATE prestabot.%I q SET leased_until = greatest(q.leased_until, $4) WHERE q.id = ANY ($1) AND %s '
    'RETURNING q.id', p_queue, still_held)
    USING free, p_owner, p_now, renewed_until;
  -- Locked by a statement under way, most likely their own settling: still held, renewed next time.
  RETURN QUERY SELECT busy.id FROM unnest(held) AS busy (id) WHERE busy.id <> ALL (free);
END
$$;
