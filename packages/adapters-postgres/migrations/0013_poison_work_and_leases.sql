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

-- A send whose lease ran out with no outcome recorded was in flight when its worker died or hung: Graph
-- may have accepted it. It waits this long before it is handed out again, for Meta's status webhook naming
-- it (its callback data is the outbox id), which marks it sent instead (apply_status_batch). Every
-- recorded outcome clears the lease, so a lease still there that ran out is exactly an outcome unknown.
-- `outcomeGraceMs` in send-pacing.ts is the same number for the in-memory store; the outbox contract suite
-- holds both to it. No SET clause: inlined where it is called.
CREATE FUNCTION prestabot.outcome_grace() RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT interval '5 seconds' $$;
REVOKE ALL ON FUNCTION prestabot.outcome_grace() FROM PUBLIC;

-- The claim of 0008 (renamed claim_outbox_rows and made internal by 0012), and lease_sends of 0012: a
-- message (and its recipient's queue behind it) is held through the grace after its lease, not only the lease.
CREATE OR REPLACE FUNCTION prestabot.claim_outbox_rows(
  p_owner text, p_limit integer, p_lease_ms integer, p_now timestamptz, p_horizon_ms integer, p_rate_share double precision
)
RETURNS SETOF prestabot.outbox
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  now_ms constant double precision := (extract(epoch FROM p_now) * 1000)::double precision;
  horizon_ms constant double precision := now_ms + p_horizon_ms;
  busy_numbers text[];
  lane_numbers text[];
  lane_starts double precision[];
  lane_spacings double precision[];
  lane_capacities integer[];
  heads_per_number integer;
  picked_ids uuid[];
  picked_numbers text[];
  picked_count integer;
  some_lane_cut boolean;
  chosen record;
  current_number text;
  next_ms double precision;
  slot_spacing_ms double precision;
  paced_numbers text[] := '{}';
  paced_next_free timestamptz[] := '{}';
  send_ids uuid[] := '{}';
  send_slots timestamptz[] := '{}';
BEGIN
  PERFORM prestabot.assert_unscoped();

  -- Numbers with queued messages, found by a loose index scan: one index probe per such number.
  WITH RECURSIVE busy (phone_number_id) AS (
    (SELECT o.phone_number_id FROM prestabot.outbox o WHERE o.status = 'pending' ORDER BY o.phone_number_id LIMIT 1)
    UNION ALL
    SELECT (SELECT o.phone_number_id FROM prestabot.outbox o
            WHERE o.status = 'pending' AND o.phone_number_id > busy.phone_number_id
            ORDER BY o.phone_number_id LIMIT 1)
    FROM busy
    WHERE busy.phone_number_id IS NOT NULL
  )
  SELECT coalesce(array_agg(busy.phone_number_id), '{}') INTO busy_numbers
  FROM busy WHERE busy.phone_number_id IS NOT NULL;

  -- A pacing row must exist before it can be locked.
  INSERT INTO prestabot.number_send_pacing (phone_number_id)
  SELECT unnest(busy_numbers)
  ON CONFLICT DO NOTHING;

  -- Each number's pacing row stays locked while its slots are placed. A number another process is
  -- claiming right now is skipped (it is being served): no two processes place slots for one number.
  -- Its capacity is one more than the quotient says: the quotient is rounded, the slot loop below is
  -- exact, and a message it gives no slot is simply not leased.
  SELECT coalesce(array_agg(lane.phone_number_id ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.start_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.spacing_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(
           CASE WHEN lane.start_ms > horizon_ms THEN 0
                ELSE least(p_limit, floor((horizon_ms - lane.start_ms) / lane.spacing_ms)::integer + 2)
           END ORDER BY lane.phone_number_id), '{}')
  INTO lane_numbers, lane_starts, lane_spacings, lane_capacities
  FROM (
    SELECT p.phone_number_id,
           greatest(now_ms, coalesce((extract(epoch FROM p.next_free_at) * 1000)::double precision, now_ms)) AS start_ms,
           1000 / (n.rate_per_second * p_rate_share) AS spacing_ms
    FROM prestabot.number_send_pacing p
    JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = p.phone_number_id
    WHERE p.phone_number_id = ANY (busy_numbers) AND n.token_invalid_at IS NULL
    ORDER BY p.phone_number_id
    FOR UPDATE OF p SKIP LOCKED
  ) lane;

  -- Round robin: every number's first message, then every number's second, …; within a turn, numbers in
  -- the order of their first message. Each number's list is read only as deep as the turns can reach:
  -- first a fair share of the limit; deeper (×4) while the lists hold fewer than the limit and some list
  -- was cut. Once they hold at least the limit, the first `limit` turns are all within them.
  heads_per_number := greatest(1, ceil(p_limit::numeric / greatest(cardinality(lane_numbers), 1))::integer);
  LOOP
    SELECT coalesce(array_agg(heads.id ORDER BY heads.turn, heads.first_priority DESC, heads.first_available_at,
                                                heads.first_created_at, heads.first_id), '{}'),
           coalesce(array_agg(heads.phone_number_id ORDER BY heads.turn, heads.first_priority DESC,
                                                heads.first_available_at, heads.first_created_at, heads.first_id), '{}'),
           count(*),
           coalesce(bool_or(heads.cut), false)
    INTO picked_ids, picked_numbers, picked_count, some_lane_cut
    FROM (
      SELECT queue.*,
             first_value(queue.priority) OVER lane_queue AS first_priority,
             first_value(queue.available_at) OVER lane_queue AS first_available_at,
             first_value(queue.created_at) OVER lane_queue AS first_created_at,
             first_value(queue.id) OVER lane_queue AS first_id,
             count(*) OVER (PARTITION BY queue.phone_number_id) = queue.depth AND queue.depth < queue.capacity AS cut
      FROM (
        SELECT lane.phone_number_id, lane.capacity, least(lane.capacity, heads_per_number) AS depth,
               o.id, o.priority, o.available_at, o.created_at,
               row_number() OVER (PARTITION BY lane.phone_number_id
                                  ORDER BY o.priority DESC, o.available_at, o.created_at, o.id) AS turn
        FROM unnest(lane_numbers, lane_capacities) AS lane (phone_number_id, capacity)
        CROSS JOIN LATERAL (
          -- The number's sendable messages in send order, the first per recipient only.
          SELECT o.id, o.priority, o.available_at, o.created_at
          FROM prestabot.outbox o
          WHERE o.phone_number_id = lane.phone_number_id
            AND o.status = 'pending'
            AND o.available_at <= p_now
            AND (o.leased_until IS NULL OR o.leased_until + prestabot.outcome_grace() <= p_now)
            AND NOT EXISTS (
              SELECT 1 FROM prestabot.outbox_recipient_holds h
              WHERE h.phone_number_id = o.phone_number_id AND h.recipient_key = o.recipient_key AND h.until > p_now)
            -- One probe of the recipient's pending messages: one of them in flight, or one ahead of this one.
            AND NOT EXISTS (
              SELECT 1 FROM prestabot.outbox e
              WHERE e.phone_number_id = o.phone_number_id AND e.recipient_key = o.recipient_key
                AND e.status = 'pending' AND e.id <> o.id
                AND (e.leased_until + prestabot.outcome_grace() > p_now
                     OR (e.available_at <= p_now
                         AND (e.priority > o.priority
                              OR (e.priority = o.priority
                                  AND (e.available_at, e.created_at, e.id) < (o.available_at, o.created_at, o.id))))))
          ORDER BY o.priority DESC, o.available_at, o.created_at, o.id
          LIMIT least(lane.capacity, heads_per_number)
        ) o
      ) queue
      WINDOW lane_queue AS (PARTITION BY queue.phone_number_id ORDER BY queue.turn)
    ) heads;
    EXIT WHEN picked_count >= p_limit OR NOT some_lane_cut;
    heads_per_number := heads_per_number * 4;
  END LOOP;

  FOR chosen IN
    SELECT picked.id, picked.phone_number_id, lane.start_ms, lane.spacing_ms
    FROM unnest(picked_ids[1:p_limit], picked_numbers[1:p_limit]) WITH ORDINALITY AS picked (id, phone_number_id, position)
    JOIN unnest(lane_numbers, lane_starts, lane_spacings) AS lane (phone_number_id, start_ms, spacing_ms)
      ON lane.phone_number_id = picked.phone_number_id
    -- A message whose send is being recorded right now is left for a later claim.
    JOIN prestabot.outbox o ON o.id = picked.id
    WHERE o.status = 'pending' AND (o.leased_until IS NULL OR o.leased_until + prestabot.outcome_grace() <= p_now)
    ORDER BY picked.phone_number_id, picked.position
    FOR UPDATE OF o SKIP LOCKED
  LOOP
    IF current_number IS DISTINCT FROM chosen.phone_number_id THEN
      IF current_number IS NOT NULL THEN
        paced_numbers := paced_numbers || current_number;
        paced_next_free := paced_next_free || to_timestamp(ceil(next_ms) / 1000);
      END IF;
      current_number := chosen.phone_number_id;
      next_ms := chosen.start_ms;
      slot_spacing_ms := chosen.spacing_ms;
    END IF;
    IF next_ms <= horizon_ms THEN
      send_ids := send_ids || chosen.id;
      send_slots := send_slots || to_timestamp(ceil(next_ms) / 1000);
      next_ms := next_ms + slot_spacing_ms;
    END IF;
  END LOOP;
  IF current_number IS NOT NULL THEN
    -- Rounded up, as placeSendSlots does: rounding down would let many small claims creep above the rate.
    paced_numbers := paced_numbers || current_number;
    paced_next_free := paced_next_free || to_timestamp(ceil(next_ms) / 1000);
  END IF;

  UPDATE prestabot.number_send_pacing p
  SET next_free_at = paced.next_free_at
  FROM unnest(paced_numbers, paced_next_free) AS paced (phone_number_id, next_free_at)
  WHERE p.phone_number_id = paced.phone_number_id;

  RETURN QUERY
    WITH leased AS (
      UPDATE prestabot.outbox o
      SET lease_owner = p_owner,
          send_at = slot.send_at,
          leased_until = slot.send_at + p_lease_ms * interval '1 millisecond'
      FROM unnest(send_ids, send_slots) AS slot (id, send_at)
      WHERE o.id = slot.id
      RETURNING o.*
    )
    SELECT * FROM leased ORDER BY leased.send_at, leased.phone_number_id;
END
$$;

CREATE OR REPLACE FUNCTION prestabot.lease_sends(
  p_ids uuid[], p_owner text, p_lease_ms integer, p_now timestamptz, p_horizon_ms integer, p_rate_share double precision
)
RETURNS SETOF prestabot.claimed_send
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- As apply_status_batch: rows reached by their keys, never a scan of a growing table, planned once.
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  now_ms constant double precision := (extract(epoch FROM p_now) * 1000)::double precision;
  horizon_ms constant double precision := now_ms + p_horizon_ms;
  chosen record;
  current_number text;
  next_ms double precision;
  paced_numbers text[] := '{}';
  paced_next_free timestamptz[] := '{}';
  send_ids uuid[] := '{}';
  send_slots timestamptz[] := '{}';
BEGIN
  PERFORM prestabot.assert_unscoped();
  INSERT INTO prestabot.number_send_pacing (phone_number_id)
  SELECT DISTINCT o.phone_number_id FROM prestabot.outbox o WHERE o.id = ANY (p_ids)
  ON CONFLICT DO NOTHING;

  FOR chosen IN
    WITH lanes AS (
      SELECT p.phone_number_id,
             greatest(now_ms, coalesce((extract(epoch FROM p.next_free_at) * 1000)::double precision, now_ms)) AS start_ms,
             1000 / (n.rate_per_second * p_rate_share) AS spacing_ms
      FROM prestabot.number_send_pacing p
      JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = p.phone_number_id
      WHERE p.phone_number_id IN (SELECT o.phone_number_id FROM prestabot.outbox o WHERE o.id = ANY (p_ids))
        AND n.token_invalid_at IS NULL
      ORDER BY p.phone_number_id
      FOR UPDATE OF p SKIP LOCKED
    )
    SELECT o.id, o.phone_number_id, l.start_ms, l.spacing_ms
    FROM prestabot.outbox o
    JOIN lanes l ON l.phone_number_id = o.phone_number_id
    WHERE o.id = ANY (p_ids)
      AND o.status = 'pending'
      AND o.available_at <= p_now
      AND (o.leased_until IS NULL OR o.leased_until + prestabot.outcome_grace() <= p_now)
      AND NOT EXISTS (
        SELECT 1 FROM prestabot.outbox_recipient_holds h
        WHERE h.phone_number_id = o.phone_number_id AND h.recipient_key = o.recipient_key AND h.until > p_now)
      AND NOT EXISTS (
        SELECT 1 FROM prestabot.outbox e
        WHERE e.phone_number_id = o.phone_number_id AND e.recipient_key = o.recipient_key
          AND e.status = 'pending' AND e.id <> o.id
          AND (e.leased_until + prestabot.outcome_grace() > p_now
               OR (e.available_at <= p_now
                   AND (e.priority > o.priority
                        OR (e.priority = o.priority
                            AND (e.available_at, e.created_at, e.id) < (o.available_at, o.created_at, o.id))))))
    ORDER BY o.phone_number_id, o.priority DESC, o.available_at, o.created_at, o.id
    FOR UPDATE OF o SKIP LOCKED
  LOOP
    IF current_number IS DISTINCT FROM chosen.phone_number_id THEN
      IF current_number IS NOT NULL THEN
        paced_numbers := paced_numbers || current_number;
        paced_next_free := paced_next_free || to_timestamp(ceil(next_ms) / 1000);
      END IF;
      current_number := chosen.phone_number_id;
      next_ms := chosen.start_ms;
    END IF;
    IF next_ms <= horizon_ms THEN
      send_ids := send_ids || chosen.id;
      send_slots := send_slots || to_timestamp(ceil(next_ms) / 1000);
      next_ms := next_ms + chosen.spacing_ms;
    END IF;
  END LOOP;
  IF current_number IS NOT NULL THEN
    paced_numbers := paced_numbers || current_number;
    paced_next_free := paced_next_free || to_timestamp(ceil(next_ms) / 1000);
  END IF;

  UPDATE prestabot.number_send_pacing p
  SET next_free_at = paced.next_free_at
  FROM unnest(paced_numbers, paced_next_free) AS paced (phone_number_id, next_free_at)
  WHERE p.phone_number_id = paced.phone_number_id;

  UPDATE prestabot.outbox o
  SET lease_owner = p_owner, send_at = slot.send_at, leased_until = slot.send_at + p_lease_ms * interval '1 millisecond'
  FROM unnest(send_ids, send_slots) AS slot (id, send_at)
  WHERE o.id = ANY (send_ids) AND o.id = slot.id;

  RETURN QUERY SELECT * FROM prestabot.claimed_sends(send_ids);
END
$$;
