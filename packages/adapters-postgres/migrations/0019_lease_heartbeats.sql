-- Lease heartbeats: leases are short, and a process renews those it still holds while the work is under
-- way (renew_leases), so a process that dies hands its work on within seconds instead of a long lease.
-- A renewal moves the expiry on, so a lease as handed out still holds while the row has the same owner and
-- an expiry at or after the one handed out (0012 matched the expiry exactly). Every claim hands out only
-- rows whose lease ran out, so another owner's claim never meets a renewed lease.

-- Renews, in one statement per call, the leases p_owner still holds (not yet run out) on the unfinished
-- rows p_ids of one queue ('inbox', 'outbox' or 'reminders'): each to p_now + p_lease_ms, never earlier
-- (an outbox lease runs from its send slot, which may still be ahead). Returns the ids renewed.
CREATE FUNCTION prestabot.renew_leases(
  p_queue text, p_owner text, p_ids uuid[], p_lease_ms integer, p_now timestamptz
)
RETURNS SETOF uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  renewed_until constant timestamptz := p_now + p_lease_ms * interval '1 millisecond';
BEGIN
  PERFORM prestabot.assert_unscoped();
  IF p_queue = 'inbox' THEN
    RETURN QUERY
      UPDATE prestabot.inbox e SET leased_until = greatest(e.leased_until, renewed_until)
      WHERE e.id = ANY (p_ids) AND e.processed_at IS NULL AND e.lease_owner = p_owner AND e.leased_until > p_now
      RETURNING e.id;
  ELSIF p_queue = 'outbox' THEN
    RETURN QUERY
      UPDATE prestabot.outbox o SET leased_until = greatest(o.leased_until, renewed_until)
      WHERE o.id = ANY (p_ids) AND o.status = 'pending' AND o.lease_owner = p_owner AND o.leased_until > p_now
      RETURNING o.id;
  ELSIF p_queue = 'reminders' THEN
    RETURN QUERY
      UPDATE prestabot.reminders m SET leased_until = greatest(m.leased_until, renewed_until)
      WHERE m.id = ANY (p_ids) AND m.status = 'pending' AND m.lease_owner = p_owner AND m.leased_until > p_now
      RETURNING m.id;
  ELSE
    RAISE EXCEPTION 'renew_leases: no queue %', p_queue USING ERRCODE = '22023';
  END IF;
END
$$;

REVOKE ALL ON FUNCTION prestabot.renew_leases(text, text, uuid[], integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prestabot.renew_leases(text, text, uuid[], integer, timestamptz) TO prestabot_app;

-- As 0012, but a renewed lease still holds (expiry at or after the one handed out).
CREATE OR REPLACE FUNCTION prestabot.apply_statuses(
  p_statuses jsonb, p_now timestamptz, p_follow_up_origins text[], p_follow_up_statuses text[]
)
RETURNS TABLE (entry_id uuid, result text, status text, outbox_id text, origin jsonb, contact_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- As apply_status_batch: rows reached by their keys, never a scan of a growing table, planned once.
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
  -- The entries named, by id: every statement reaches them through their key.
  ids constant uuid[] := ARRAY(SELECT s.entry_id FROM jsonb_to_recordset(p_statuses) AS s (entry_id uuid));
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY
    WITH held AS (
      SELECT s.ordinal, s.entry_id, e.tenant_id, e.phone_number_id, e.item
      FROM jsonb_to_recordset(p_statuses) AS s (ordinal integer, entry_id uuid, lease_owner text,
        leased_until timestamptz)
      JOIN prestabot.inbox e ON e.id = s.entry_id
      WHERE e.id = ANY (ids) AND e.kind = 'status' AND e.processed_at IS NULL
        AND e.lease_owner = s.lease_owner AND e.leased_until >= s.leased_until
    ), judged AS (
      SELECT h.entry_id, j.*
      FROM prestabot.apply_status_batch(
        (SELECT coalesce(jsonb_agg(jsonb_build_object(
                  'ordinal', h.ordinal, 'tenant_id', h.tenant_id, 'phone_number_id', h.phone_number_id,
                  'wamid', h.item ->> 'wamid', 'status', h.item ->> 'status', 'at', h.item ->> 'at',
                  'error_code', h.item #> '{errors,0,code}', 'error_title', h.item #>> '{errors,0,title}',
                  'callback_data', h.item ->> 'bizOpaqueCallbackData')), '[]')
         FROM held h),
        p_follow_up_origins, p_follow_up_statuses) j
      JOIN held h ON h.ordinal = j.ordinal
    ), completed AS (
      UPDATE prestabot.inbox e
      SET processed_at = p_now, lease_owner = NULL, leased_until = NULL
      FROM judged j
      WHERE e.id = ANY (ids) AND e.id = j.entry_id AND j.result = 'completed'
      RETURNING e.id
    )
    SELECT s.entry_id, coalesce(j.result, 'lease_lost'), j.status, j.outbox_id, j.origin, j.contact_id
    FROM jsonb_to_recordset(p_statuses) AS s (ordinal integer, entry_id uuid)
    LEFT JOIN judged j ON j.entry_id = s.entry_id
    ORDER BY s.ordinal;
END
$$;

-- As 0012, but a renewed lease still holds (expiry at or after the one handed out).
CREATE OR REPLACE FUNCTION prestabot.record_send_outcomes(p_records jsonb)
RETURNS TABLE (id uuid, recorded boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- As apply_status_batch: rows reached by their keys, never a scan of a growing table, planned once.
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
  -- The messages named, by id: every statement reaches them through their key.
  ids constant uuid[] := ARRAY(SELECT r.id FROM jsonb_to_recordset(p_records) AS r (id uuid));
  -- The records (by their `ordinal`) whose message's lease still holds: only they are applied.
  held integer[];
BEGIN
  PERFORM prestabot.assert_unscoped();
  -- Their messages stay locked until the end.
  SELECT coalesce(array_agg(held_record.ordinal), '{}') INTO held
  FROM (
    SELECT r.ordinal
    FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, lease_owner text,
      leased_until timestamptz, kind text)
    JOIN prestabot.outbox o ON o.id = r.id
    WHERE o.id = ANY (ids) AND o.status = 'pending' AND o.lease_owner = r.lease_owner AND o.leased_until >= r.leased_until
      AND (r.kind <> 'fallback' OR o.fallback IS NOT NULL)
    ORDER BY o.id
    FOR UPDATE OF o
  ) held_record;

  WITH sent AS (
    UPDATE prestabot.outbox o
    SET status = 'sent', wamid = coalesce(r.wamid, o.wamid), sent_at = r.at, attempts = o.attempts + 1,
        lease_owner = NULL, leased_until = NULL
    FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, kind text, wamid text, at timestamptz)
    WHERE o.id = ANY (ids) AND o.id = r.id AND r.kind = 'sent' AND r.ordinal = ANY (held)
    RETURNING o.tenant_id, o.id, o.phone_number_id, o.contact_id, o.message, o.origin, o.wamid, r.at
  )
  INSERT INTO prestabot.messages
    (tenant_id, direction, wamid, phone_number_id, contact_id, type, accepted_at, status, status_at, outbox_id, origin)
  SELECT s.tenant_id, 'outbound', s.wamid, s.phone_number_id, s.contact_id, s.message ->> 'type', s.at,
         'accepted', s.at, s.id::text, s.origin
  FROM sent s
  WHERE s.wamid IS NOT NULL
  ON CONFLICT (tenant_id, direction, wamid) DO NOTHING;

  UPDATE prestabot.outbox o
  SET status = 'failed', last_failure = r.failure, failed_at = r.at, attempts = o.attempts + 1,
      lease_owner = NULL, leased_until = NULL
  FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, kind text, at timestamptz, failure jsonb)
  WHERE o.id = ANY (ids) AND o.id = r.id AND r.kind = 'failed' AND r.ordinal = ANY (held);

  UPDATE prestabot.outbox o
  SET slot_misses = o.slot_misses + 1, lease_owner = NULL, leased_until = NULL
  FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, kind text)
  WHERE o.id = ANY (ids) AND o.id = r.id AND r.kind = 'requeue' AND r.ordinal = ANY (held);

  UPDATE prestabot.outbox o
  SET message = o.fallback, fallback = NULL, available_at = r.at, lease_owner = NULL, leased_until = NULL
  FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, kind text, at timestamptz)
  WHERE o.id = ANY (ids) AND o.id = r.id AND r.kind = 'fallback' AND r.ordinal = ANY (held);

  INSERT INTO prestabot.outbox_recipient_holds AS h (tenant_id, phone_number_id, recipient_key, until)
  SELECT DISTINCT ON (o.phone_number_id, o.recipient_key) o.tenant_id, o.phone_number_id, o.recipient_key, r.retry_at
  FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, kind text, retry_at timestamptz)
  JOIN prestabot.outbox o ON o.id = r.id
  WHERE o.id = ANY (ids) AND r.kind = 'hold' AND r.ordinal = ANY (held) AND o.recipient_key IS NOT NULL
  ORDER BY o.phone_number_id, o.recipient_key, r.retry_at DESC
  ON CONFLICT (phone_number_id, recipient_key) DO UPDATE SET until = excluded.until;

  UPDATE prestabot.whatsapp_numbers n
  SET token_invalid_at = t.at, token_error_code = t.error_code
  FROM (
    SELECT DISTINCT ON (o.phone_number_id) o.phone_number_id, r.at, r.error_code, r.token_ciphertext
    FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, kind text, at timestamptz,
      error_code integer, token_ciphertext text)
    JOIN prestabot.outbox o ON o.id = r.id
    WHERE o.id = ANY (ids) AND r.kind = 'token_invalid' AND r.ordinal = ANY (held)
    ORDER BY o.phone_number_id, r.at
  ) t
  WHERE n.phone_number_id = t.phone_number_id AND n.token_ciphertext IS NOT DISTINCT FROM t.token_ciphertext;

  UPDATE prestabot.outbox o
  SET available_at = r.retry_at, last_failure = r.failure, attempts = o.attempts + 1,
      lease_owner = NULL, leased_until = NULL
  FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, kind text, retry_at timestamptz, failure jsonb)
  WHERE o.id = ANY (ids) AND o.id = r.id AND r.kind IN ('retry', 'hold', 'token_invalid') AND r.ordinal = ANY (held);

  RETURN QUERY
    SELECT r.id,
           r.ordinal = ANY (held)
           OR (r.kind = 'sent' AND EXISTS (
             SELECT 1 FROM prestabot.outbox o WHERE o.id = r.id AND o.status = 'sent' AND o.wamid = r.wamid))
    FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, kind text, wamid text)
    ORDER BY r.ordinal;
END
$$;
