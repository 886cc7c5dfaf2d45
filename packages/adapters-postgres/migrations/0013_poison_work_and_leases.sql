-- Poison work ends. A reminder counts its attempts as the inbox does (at claim time, so an attempt whose
-- worker crashed or hung counts too): the worker gives it up after the last, instead of claiming it forever.
ALTER TABLE prestabot.reminders ADD COLUMN attempts integer NOT NULL DEFAULT 0;

-- The claim of 0006, counting each claim as an attempt.
CREATE OR REPLACE FUNCTION prestabot.claim_reminders(p_owner text, p_limit integer, p_lease_ms integer, p_now timestamptz)
RETURNS SETOF prestabot.reminders
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY
    WITH chosen AS (
      SELECT r.id
      FROM prestabot.reminders r
      WHERE r.status = 'pending'
        AND r.scheduled_at <= p_now
        AND (r.leased_until IS NULL OR r.leased_until <= p_now)
      ORDER BY r.scheduled_at, r.id
      LIMIT p_limit
      FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE prestabot.reminders r
      SET attempts = r.attempts + 1,
          lease_owner = p_owner,
          leased_until = p_now + p_lease_ms * interval '1 millisecond'
      FROM chosen
      WHERE r.id = chosen.id
      RETURNING r.*
    )
    SELECT * FROM claimed ORDER BY scheduled_at, id;
END
$$;

-- Settles for good claimed rows this version cannot read (a shape it does not know), each with why, so a
-- claim hands out the rest instead of failing whole and leaving every row of it leased: a send fails, an
-- inbox entry is abandoned, a reminder is skipped. Only rows still leased to p_owner (who claimed them).
-- p_rows: [{id, reason}]. Returns how many were quarantined.
CREATE FUNCTION prestabot.quarantine_claimed(p_queue text, p_owner text, p_rows jsonb)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  quarantined integer;
BEGIN
  PERFORM prestabot.assert_unscoped();
  IF p_queue = 'outbox' THEN
    UPDATE prestabot.outbox o
    SET status = 'failed', failed_at = now(),
        last_failure = jsonb_build_object('reason', 'unreadable', 'details', r.reason),
        lease_owner = NULL, leased_until = NULL
    FROM jsonb_to_recordset(p_rows) AS r (id uuid, reason text)
    WHERE o.id = r.id AND o.status = 'pending' AND o.lease_owner = p_owner;
  ELSIF p_queue = 'inbox' THEN
    UPDATE prestabot.inbox i
    SET processed_at = now(), abandoned = true, last_error = 'unreadable: ' || r.reason,
        lease_owner = NULL, leased_until = NULL
    FROM jsonb_to_recordset(p_rows) AS r (id uuid, reason text)
    WHERE i.id = r.id AND i.processed_at IS NULL AND i.lease_owner = p_owner;
  ELSIF p_queue = 'reminders' THEN
    UPDATE prestabot.reminders m
    SET status = 'skipped', reason = 'unreadable: ' || r.reason, lease_owner = NULL, leased_until = NULL
    FROM jsonb_to_recordset(p_rows) AS r (id uuid, reason text)
    WHERE m.id = r.id AND m.status = 'pending' AND m.lease_owner = p_owner;
  ELSE
    RAISE EXCEPTION 'quarantine_claimed: unknown queue %', p_queue;
  END IF;
  GET DIAGNOSTICS quarantined = ROW_COUNT;
  RETURN quarantined;
END
$$;

REVOKE ALL ON FUNCTION prestabot.quarantine_claimed(text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prestabot.quarantine_claimed(text, text, jsonb) TO prestabot_app;
