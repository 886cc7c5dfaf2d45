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
