-- A reply's queue row is deleted once it is sent, instead of marked sent. Marking it was an update that
-- cannot be HOT (the queue's indexes are partial on the status), so it wrote the whole row again and a new
-- entry into the primary key, and the old version was pruned later: about 280 bytes of WAL a message. A
-- delete writes one small record. Nothing asks for a sent reply's row again: it has no idempotency key to
-- hold (0048), no fallback for a later `failed` status to send, and its log row (written here, as before)
-- keeps its wamid, outbox id, origin and statuses. A message with a key or a fallback is still marked sent,
-- and kept until the retention job prunes it.
--
-- A `sent` record repeated after its row was deleted finds no row, and is answered as not recorded (its
-- lease is gone): the send is not made again either way, the worker only counts it as a lost lease.

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
  -- The kinds of outcome in the batch.
  kinds constant text[] := ARRAY(SELECT DISTINCT r.kind FROM jsonb_to_recordset(p_records) AS r (kind text));
  -- The records (by their `ordinal`) applied: for each message, the first whose lease still holds.
  held integer[];
  -- `id|wamid` of the messages sent before this batch: a record naming one is answered as recorded.
  sent_before text[] := '{}';
BEGIN
  PERFORM prestabot.assert_unscoped();
  -- Their messages stay locked until the end.
  SELECT coalesce(array_agg(first_held.ordinal), '{}') INTO held
  FROM (
    SELECT min(held_record.ordinal) AS ordinal
    FROM (
      SELECT r.ordinal, o.id
      FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, lease_owner text,
        leased_until timestamptz, kind text)
      JOIN prestabot.outbox o ON o.id = r.id
      WHERE o.id = ANY (ids) AND o.status = 'pending' AND o.lease_owner = r.lease_owner AND o.leased_until >= r.leased_until
        AND (r.kind <> 'fallback' OR o.fallback IS NOT NULL)
      ORDER BY o.id
      FOR UPDATE OF o
    ) held_record
    GROUP BY held_record.id
  ) first_held;

  IF 'sent' = ANY (kinds) THEN
    sent_before := ARRAY(
      SELECT o.id::text || '|' || o.wamid FROM prestabot.outbox o
      WHERE o.id = ANY (ids) AND o.status = 'sent' AND o.wamid IS NOT NULL);

    WITH marked AS (
      UPDATE prestabot.outbox o
      SET status = 'sent', wamid = coalesce(r.wamid, o.wamid), sent_at = r.at, attempts = o.attempts + 1,
          lease_owner = NULL, leased_until = NULL
      FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, kind text, wamid text, at timestamptz)
      WHERE o.id = ANY (ids) AND o.id = r.id AND r.kind = 'sent' AND r.ordinal = ANY (held)
        AND (o.idempotency_key IS NOT NULL OR o.fallback IS NOT NULL)
      RETURNING o.tenant_id, o.id, o.phone_number_id, o.contact_id, o.message, o.origin, o.wamid, r.at
    ),
    -- Nothing will ask for it again: its log row is all that stays of it.
    done AS (
      DELETE FROM prestabot.outbox o
      USING jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, kind text, wamid text, at timestamptz)
      WHERE o.id = ANY (ids) AND o.id = r.id AND r.kind = 'sent' AND r.ordinal = ANY (held)
        AND o.idempotency_key IS NULL AND o.fallback IS NULL
      RETURNING o.tenant_id, o.id, o.phone_number_id, o.contact_id, o.message, o.origin,
                coalesce(r.wamid, o.wamid) AS wamid, r.at
    ),
    sent AS (SELECT * FROM marked UNION ALL SELECT * FROM done)
    INSERT INTO prestabot.messages
      (tenant_id, direction, wamid, phone_number_id, contact_id, type, accepted_at, status, status_at, outbox_id, origin)
    SELECT s.tenant_id, 'outbound', s.wamid, s.phone_number_id, s.contact_id, s.message ->> 'type', s.at,
           'accepted', s.at, s.id::text, s.origin
    FROM sent s
    -- Looked up wamid by wamid: as NOT EXISTS, the plan made once for any batch may read the whole log.
    LEFT JOIN LATERAL (
      SELECT m.wamid FROM prestabot.messages m
      WHERE m.tenant_id = s.tenant_id AND m.direction = 'outbound' AND m.wamid = s.wamid
      LIMIT 1
    ) logged ON true
    WHERE s.wamid IS NOT NULL AND logged.wamid IS NULL;
  END IF;

  IF 'failed' = ANY (kinds) THEN
    UPDATE prestabot.outbox o
    SET status = 'failed', last_failure = r.failure, failed_at = r.at, attempts = o.attempts + 1,
        lease_owner = NULL, leased_until = NULL
    FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, kind text, at timestamptz, failure jsonb)
    WHERE o.id = ANY (ids) AND o.id = r.id AND r.kind = 'failed' AND r.ordinal = ANY (held);
  END IF;

  IF 'requeue' = ANY (kinds) THEN
    UPDATE prestabot.outbox o
    SET slot_misses = o.slot_misses + 1, lease_owner = NULL, leased_until = NULL
    FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, kind text)
    WHERE o.id = ANY (ids) AND o.id = r.id AND r.kind = 'requeue' AND r.ordinal = ANY (held);
  END IF;

  IF 'fallback' = ANY (kinds) THEN
    UPDATE prestabot.outbox o
    SET message = o.fallback, fallback = NULL, available_at = r.at, lease_owner = NULL, leased_until = NULL
    FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, kind text, at timestamptz)
    WHERE o.id = ANY (ids) AND o.id = r.id AND r.kind = 'fallback' AND r.ordinal = ANY (held);
  END IF;

  IF 'hold' = ANY (kinds) THEN
    INSERT INTO prestabot.outbox_recipient_holds AS h (tenant_id, phone_number_id, recipient_key, until)
    SELECT DISTINCT ON (o.phone_number_id, o.recipient_key) o.tenant_id, o.phone_number_id, o.recipient_key, r.retry_at
    FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, kind text, retry_at timestamptz)
    JOIN prestabot.outbox o ON o.id = r.id
    WHERE o.id = ANY (ids) AND r.kind = 'hold' AND r.ordinal = ANY (held) AND o.recipient_key IS NOT NULL
    ORDER BY o.phone_number_id, o.recipient_key, r.retry_at DESC
    ON CONFLICT (phone_number_id, recipient_key) DO UPDATE SET until = excluded.until;
  END IF;

  IF 'token_invalid' = ANY (kinds) THEN
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
  END IF;

  IF kinds && ARRAY['retry', 'hold', 'token_invalid'] THEN
    UPDATE prestabot.outbox o
    SET available_at = r.retry_at, last_failure = r.failure, attempts = o.attempts + 1,
        lease_owner = NULL, leased_until = NULL
    FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, kind text, retry_at timestamptz, failure jsonb)
    WHERE o.id = ANY (ids) AND o.id = r.id AND r.kind IN ('retry', 'hold', 'token_invalid') AND r.ordinal = ANY (held);
  END IF;

  -- Answered in order, as the in-memory queue does: a `sent` that does not hold the lease is recorded if the
  -- message was sent with its wamid before the batch, or by an earlier record of it; never by a later one.
  RETURN QUERY
    SELECT r.id,
           r.ordinal = ANY (held)
           OR (r.kind = 'sent' AND (
             (r.id::text || '|' || r.wamid) = ANY (sent_before)
             OR EXISTS (
               SELECT 1 FROM jsonb_to_recordset(p_records) AS e (ordinal integer, id uuid, kind text, wamid text)
               WHERE e.ordinal = ANY (held) AND e.ordinal < r.ordinal AND e.id = r.id AND e.kind = 'sent'
                 AND e.wamid = r.wamid)))
    FROM jsonb_to_recordset(p_records) AS r (ordinal integer, id uuid, kind text, wamid text)
    ORDER BY r.ordinal;
END
$$;
