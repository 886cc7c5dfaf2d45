-- A send placed alone on an idle number may leave `idle_slot_allowance_ms()` later than its slot's
-- tolerance, and the number's next slots (both paces) move as far: leaving anywhere in that stretch is the
-- same as leaving on time at a slot there, so no one-second window gains a send. These are the sends a busy
-- or cold process missed most, each miss costing another lease. `idleSlotAllowanceMs` in send-pacing.ts is
-- the same number for the in-memory store and the deadline; the outbox contract suite holds both to it.

-- No SET clause: inlined where it is called.
CREATE FUNCTION prestabot.idle_slot_allowance_ms() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 40 $$;
REVOKE ALL ON FUNCTION prestabot.idle_slot_allowance_ms() FROM PUBLIC;

-- Set with every slot: the allowance that slot came with. A constant default rewrites no row, and the check
-- is NOT VALID so that adding it scans none either (every existing row holds the default) while the table
-- is locked.
ALTER TABLE prestabot.outbox ADD COLUMN slot_allowance_ms integer NOT NULL DEFAULT 0;
ALTER TABLE prestabot.outbox ADD CONSTRAINT outbox_slot_allowance_ms_check CHECK (slot_allowance_ms >= 0) NOT VALID;

-- Stores where each lane's next slots may start (the numbers the caller placed slots for), and answers
-- the sends placed alone on a lane that was idle: its slots started at the moment of the call, nothing of
-- the number's was ahead of them (the caller's start_ms is greatest(now_ms, the number's next free
-- moment)). Such a lane's next slots, at both paces, move by the allowance. No SET clause: it runs on its
-- callers' settings, every name qualified.
CREATE FUNCTION prestabot.pace_lanes(
  p_paced_numbers text[], p_next_free timestamptz[], p_business_next timestamptz[],
  p_send_ids uuid[], p_send_numbers text[], p_lane_numbers text[], p_lane_starts double precision[],
  p_now_ms double precision
)
RETURNS uuid[]
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  alone_ids uuid[];
  alone_numbers text[];
BEGIN
  SELECT coalesce(array_agg(alone.id), '{}'), coalesce(array_agg(alone.phone_number_id), '{}')
  INTO alone_ids, alone_numbers
  FROM (
    SELECT (array_agg(s.id))[1] AS id, s.phone_number_id
    FROM unnest(p_send_ids, p_send_numbers) AS s (id, phone_number_id)
    JOIN unnest(p_lane_numbers, p_lane_starts) AS lane (phone_number_id, start_ms)
      ON lane.phone_number_id = s.phone_number_id
    WHERE lane.start_ms = p_now_ms
    GROUP BY s.phone_number_id
    HAVING count(*) = 1
  ) alone;

  UPDATE prestabot.number_send_pacing p
  SET next_free_at = paced.next_free_at + paced.allowance,
      business_next_free_at = coalesce(paced.business_next + paced.allowance, p.business_next_free_at)
  FROM (
    SELECT paced.*,
           CASE WHEN paced.phone_number_id = ANY (alone_numbers)
                THEN prestabot.idle_slot_allowance_ms() * interval '1 millisecond'
                ELSE interval '0' END AS allowance
    FROM unnest(p_paced_numbers, p_next_free, p_business_next) AS paced (phone_number_id, next_free_at, business_next)
  ) paced
  WHERE p.phone_number_id = paced.phone_number_id;

  RETURN alone_ids;
END
$$;
REVOKE ALL ON FUNCTION prestabot.pace_lanes(text[], timestamptz[], timestamptz[], uuid[], text[], text[],
  double precision[], double precision) FROM PUBLIC;

-- A claimed send carries its allowance.
ALTER TYPE prestabot.claimed_send ADD ATTRIBUTE slot_allowance_ms integer;
CREATE OR REPLACE FUNCTION prestabot.claimed_sends(p_ids uuid[]) RETURNS SETOF prestabot.claimed_send
LANGUAGE sql STABLE
AS $$
  SELECT o.id, o.tenant_id, o.phone_number_id, o.recipient, o.contact_id, o.message, o.fallback, o.reply_to,
         o.origin, o.idempotency_key, o.priority, o.status, o.attempts, o.not_before, o.created_at, o.wamid,
         o.last_failure, o.lease_owner, o.leased_until, o.send_at, o.slot_misses,
         n.token_state, n.token_key_id, n.token_ciphertext, n.token_length, o.limit_held_at,
         o.slot_allowance_ms
  FROM prestabot.outbox o
  JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = o.phone_number_id
  WHERE o.id = ANY (p_ids)
  ORDER BY o.send_at, o.phone_number_id
$$;

-- The claim of 0024, placing each lane's lone send on an idle number with its allowance.
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
  -- Per lane: when its next business-initiated send may go, and their spacing; NULL where quality slows none.
  lane_business_starts double precision[];
  lane_business_spacings double precision[];
  allowed_ids uuid[];
  heads_per_number integer;
  picked_ids uuid[];
  picked_numbers text[];
  picked_count integer;
  some_lane_cut boolean;
  chosen record;
  current_number text;
  next_ms double precision;
  slot_spacing_ms double precision;
  business_next_ms double precision;
  business_spacing_ms double precision;
  paced_business_next timestamptz[] := '{}';
  paced_numbers text[] := '{}';
  paced_next_free timestamptz[] := '{}';
  send_ids uuid[] := '{}';
  send_slots timestamptz[] := '{}';
  send_numbers text[] := '{}';
  alone_ids uuid[];
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
  -- Its capacity is the number of slots that fit before the horizon, counted as the in-memory claim
  -- counts them.
  SELECT coalesce(array_agg(lane.phone_number_id ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.start_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.spacing_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(
           CASE WHEN lane.start_ms > horizon_ms THEN 0
                ELSE least(p_limit, floor((horizon_ms - lane.start_ms) / lane.spacing_ms)::integer + 1)
           END ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.business_start_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.business_spacing_ms ORDER BY lane.phone_number_id), '{}')
  INTO lane_numbers, lane_starts, lane_spacings, lane_capacities, lane_business_starts, lane_business_spacings
  FROM (
    SELECT p.phone_number_id,
           greatest(now_ms, coalesce((extract(epoch FROM p.next_free_at) * 1000)::double precision, now_ms)) AS start_ms,
           1000 / (n.rate_per_second * p_rate_share) AS spacing_ms,
           CASE WHEN prestabot.business_pace_share(n.quality_rating, n.quality_flagged) < 1 THEN
             greatest(now_ms, coalesce((extract(epoch FROM p.business_next_free_at) * 1000)::double precision, now_ms))
           END AS business_start_ms,
           CASE WHEN prestabot.business_pace_share(n.quality_rating, n.quality_flagged) < 1 THEN
             1000 / (n.rate_per_second * p_rate_share * prestabot.business_pace_share(n.quality_rating, n.quality_flagged))
           END AS business_spacing_ms
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
        FROM unnest(lane_numbers, lane_capacities, lane_business_starts)
               AS lane (phone_number_id, capacity, business_start_ms)
        CROSS JOIN LATERAL (
          -- The number's sendable messages in send order, the first per recipient only.
          SELECT o.id, o.priority, o.available_at, o.created_at
          FROM prestabot.outbox o
          WHERE o.phone_number_id = lane.phone_number_id
            AND o.status = 'pending'
            AND o.available_at <= p_now
            AND (o.leased_until IS NULL OR o.leased_until + prestabot.outcome_grace() <= p_now)
            -- A business-initiated message of a slowed number waits for the number's next business slot.
            AND (lane.business_start_ms IS NULL OR lane.business_start_ms <= now_ms
                 OR NOT prestabot.is_business_initiated(o.message, o.recipient_key))
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

  allowed_ids := prestabot.within_messaging_limits(picked_ids[1:p_limit], p_now);

  FOR chosen IN
    SELECT picked.id, picked.phone_number_id, lane.start_ms, lane.spacing_ms, lane.business_start_ms,
           lane.business_spacing_ms, prestabot.is_business_initiated(o.message, o.recipient_key) AS business
    FROM unnest(picked_ids[1:p_limit], picked_numbers[1:p_limit]) WITH ORDINALITY AS picked (id, phone_number_id, position)
    JOIN unnest(lane_numbers, lane_starts, lane_spacings, lane_business_starts, lane_business_spacings)
      AS lane (phone_number_id, start_ms, spacing_ms, business_start_ms, business_spacing_ms)
      ON lane.phone_number_id = picked.phone_number_id
    -- A message whose send is being recorded right now is left for a later claim.
    JOIN prestabot.outbox o ON o.id = picked.id
    WHERE picked.id = ANY (allowed_ids)
      AND o.status = 'pending' AND (o.leased_until IS NULL OR o.leased_until + prestabot.outcome_grace() <= p_now)
    ORDER BY picked.phone_number_id, picked.position
    FOR UPDATE OF o SKIP LOCKED
  LOOP
    IF current_number IS DISTINCT FROM chosen.phone_number_id THEN
      IF current_number IS NOT NULL THEN
        paced_numbers := paced_numbers || current_number;
        paced_next_free := paced_next_free || to_timestamp(ceil(next_ms) / 1000);
        paced_business_next := paced_business_next || to_timestamp(ceil(business_next_ms) / 1000);
      END IF;
      current_number := chosen.phone_number_id;
      next_ms := chosen.start_ms;
      slot_spacing_ms := chosen.spacing_ms;
      business_next_ms := chosen.business_start_ms;
      business_spacing_ms := chosen.business_spacing_ms;
    END IF;
    -- A slowed number's later business-initiated messages wait for a later claim.
    CONTINUE WHEN chosen.business AND business_next_ms > next_ms;
    IF next_ms <= horizon_ms THEN
      send_ids := send_ids || chosen.id;
      send_slots := send_slots || to_timestamp(ceil(next_ms) / 1000);
      send_numbers := send_numbers || chosen.phone_number_id;
      IF chosen.business AND business_spacing_ms IS NOT NULL THEN
        business_next_ms := next_ms + business_spacing_ms;
      END IF;
      next_ms := next_ms + slot_spacing_ms;
    END IF;
  END LOOP;
  IF current_number IS NOT NULL THEN
    -- Rounded up, as placeSendSlots does: rounding down would let many small claims creep above the rate.
    paced_numbers := paced_numbers || current_number;
    paced_next_free := paced_next_free || to_timestamp(ceil(next_ms) / 1000);
    paced_business_next := paced_business_next || to_timestamp(ceil(business_next_ms) / 1000);
  END IF;

  alone_ids := prestabot.pace_lanes(paced_numbers, paced_next_free, paced_business_next,
                                    send_ids, send_numbers, lane_numbers, lane_starts, now_ms);

  UPDATE prestabot.outbox o
  SET lease_owner = p_owner,
      send_at = slot.send_at,
      leased_until = slot.send_at + p_lease_ms * interval '1 millisecond',
      slot_allowance_ms = CASE WHEN slot.id = ANY (alone_ids) THEN prestabot.idle_slot_allowance_ms() ELSE 0 END
  FROM unnest(send_ids, send_slots) AS slot (id, send_at)
  WHERE o.id = slot.id;
  PERFORM prestabot.record_reach(send_ids);

  RETURN QUERY SELECT * FROM prestabot.outbox o WHERE o.id = ANY (send_ids) ORDER BY o.send_at, o.phone_number_id;
END
$$;

-- lease_sends_of of 0030, the same way.
CREATE OR REPLACE FUNCTION prestabot.lease_sends_of(
  p_tenant uuid, p_ids uuid[], p_owner text, p_lease_ms integer, p_now timestamptz, p_horizon_ms integer, p_rate_share double precision
)
RETURNS SETOF prestabot.claimed_send
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- As apply_status_batch: rows reached by their keys, never a scan of a growing table, planned once.
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  now_ms constant double precision := (extract(epoch FROM p_now) * 1000)::double precision;
  horizon_ms constant double precision := now_ms + p_horizon_ms;
  lane_numbers text[];
  lane_starts double precision[];
  lane_spacings double precision[];
  lane_business_starts double precision[];
  lane_business_spacings double precision[];
  candidate_ids uuid[];
  allowed_ids uuid[];
  chosen record;
  current_number text;
  next_ms double precision;
  business_next_ms double precision;
  paced_numbers text[] := '{}';
  paced_next_free timestamptz[] := '{}';
  paced_business_next timestamptz[] := '{}';
  send_ids uuid[] := '{}';
  send_slots timestamptz[] := '{}';
  send_numbers text[] := '{}';
  alone_ids uuid[];
BEGIN
  INSERT INTO prestabot.number_send_pacing (phone_number_id)
  SELECT DISTINCT o.phone_number_id FROM prestabot.outbox o
  WHERE o.id = ANY (p_ids) AND (p_tenant IS NULL OR o.tenant_id = p_tenant)
  ON CONFLICT DO NOTHING;

  SELECT coalesce(array_agg(lane.phone_number_id ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.start_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.spacing_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.business_start_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.business_spacing_ms ORDER BY lane.phone_number_id), '{}')
  INTO lane_numbers, lane_starts, lane_spacings, lane_business_starts, lane_business_spacings
  FROM (
    SELECT p.phone_number_id,
           greatest(now_ms, coalesce((extract(epoch FROM p.next_free_at) * 1000)::double precision, now_ms)) AS start_ms,
           1000 / (n.rate_per_second * p_rate_share) AS spacing_ms,
           CASE WHEN prestabot.business_pace_share(n.quality_rating, n.quality_flagged) < 1 THEN
             greatest(now_ms, coalesce((extract(epoch FROM p.business_next_free_at) * 1000)::double precision, now_ms))
           END AS business_start_ms,
           CASE WHEN prestabot.business_pace_share(n.quality_rating, n.quality_flagged) < 1 THEN
             1000 / (n.rate_per_second * p_rate_share * prestabot.business_pace_share(n.quality_rating, n.quality_flagged))
           END AS business_spacing_ms
    FROM prestabot.number_send_pacing p
    JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = p.phone_number_id
    WHERE p.phone_number_id IN (
            SELECT o.phone_number_id FROM prestabot.outbox o
            WHERE o.id = ANY (p_ids) AND (p_tenant IS NULL OR o.tenant_id = p_tenant))
      AND n.token_invalid_at IS NULL
    ORDER BY p.phone_number_id
    FOR UPDATE OF p SKIP LOCKED
  ) lane;

  SELECT coalesce(array_agg(candidate.id ORDER BY candidate.phone_number_id, candidate.priority DESC,
                            candidate.available_at, candidate.created_at, candidate.id), '{}')
  INTO candidate_ids
  FROM (
    SELECT o.id, o.phone_number_id, o.priority, o.available_at, o.created_at
    FROM prestabot.outbox o
    JOIN unnest(lane_numbers, lane_business_starts) AS lane (phone_number_id, business_start_ms)
      ON lane.phone_number_id = o.phone_number_id
    WHERE o.id = ANY (p_ids)
      AND (p_tenant IS NULL OR o.tenant_id = p_tenant)
      -- Inside a tenant's transaction, never a business-initiated message: its messaging limit is its
      -- portfolio's, which other tenants' numbers may share, and those rows are not this tenant's to touch.
      AND (p_tenant IS NULL OR NOT prestabot.is_business_initiated(o.message, o.recipient_key))
      AND o.status = 'pending'
      AND o.available_at <= p_now
      AND (o.leased_until IS NULL OR o.leased_until + prestabot.outcome_grace() <= p_now)
      AND (lane.business_start_ms IS NULL OR lane.business_start_ms <= now_ms
           OR NOT prestabot.is_business_initiated(o.message, o.recipient_key))
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
    FOR UPDATE OF o SKIP LOCKED
  ) candidate;

  -- Inside a tenant's transaction no candidate is business-initiated, and only those count against a
  -- messaging limit: neither the limits nor the reach have anything to do there.
  allowed_ids := CASE WHEN p_tenant IS NULL THEN prestabot.within_messaging_limits(candidate_ids, p_now)
                      ELSE candidate_ids END;

  FOR chosen IN
    SELECT o.id, o.phone_number_id, lane.start_ms, lane.spacing_ms, lane.business_start_ms,
           lane.business_spacing_ms, prestabot.is_business_initiated(o.message, o.recipient_key) AS business
    FROM unnest(allowed_ids) WITH ORDINALITY AS allowed (id, ordinal)
    JOIN prestabot.outbox o ON o.id = allowed.id
    JOIN unnest(lane_numbers, lane_starts, lane_spacings, lane_business_starts, lane_business_spacings)
      AS lane (phone_number_id, start_ms, spacing_ms, business_start_ms, business_spacing_ms)
      ON lane.phone_number_id = o.phone_number_id
    WHERE o.id = ANY (allowed_ids)
    ORDER BY allowed.ordinal
  LOOP
    IF current_number IS DISTINCT FROM chosen.phone_number_id THEN
      IF current_number IS NOT NULL THEN
        paced_numbers := paced_numbers || current_number;
        paced_next_free := paced_next_free || to_timestamp(ceil(next_ms) / 1000);
        paced_business_next := paced_business_next || to_timestamp(ceil(business_next_ms) / 1000);
      END IF;
      current_number := chosen.phone_number_id;
      next_ms := chosen.start_ms;
      business_next_ms := chosen.business_start_ms;
    END IF;
    CONTINUE WHEN chosen.business AND business_next_ms > next_ms;
    IF next_ms <= horizon_ms THEN
      send_ids := send_ids || chosen.id;
      send_slots := send_slots || to_timestamp(ceil(next_ms) / 1000);
      send_numbers := send_numbers || chosen.phone_number_id;
      IF chosen.business AND chosen.business_spacing_ms IS NOT NULL THEN
        business_next_ms := next_ms + chosen.business_spacing_ms;
      END IF;
      next_ms := next_ms + chosen.spacing_ms;
    END IF;
  END LOOP;
  IF current_number IS NOT NULL THEN
    paced_numbers := paced_numbers || current_number;
    paced_next_free := paced_next_free || to_timestamp(ceil(next_ms) / 1000);
    paced_business_next := paced_business_next || to_timestamp(ceil(business_next_ms) / 1000);
  END IF;

  alone_ids := prestabot.pace_lanes(paced_numbers, paced_next_free, paced_business_next,
                                    send_ids, send_numbers, lane_numbers, lane_starts, now_ms);

  UPDATE prestabot.outbox o
  SET lease_owner = p_owner, send_at = slot.send_at, leased_until = slot.send_at + p_lease_ms * interval '1 millisecond',
      slot_allowance_ms = CASE WHEN slot.id = ANY (alone_ids) THEN prestabot.idle_slot_allowance_ms() ELSE 0 END
  FROM unnest(send_ids, send_slots) AS slot (id, send_at)
  WHERE o.id = ANY (send_ids) AND o.id = slot.id;
  IF p_tenant IS NULL THEN
    PERFORM prestabot.record_reach(send_ids);
  END IF;

  RETURN QUERY SELECT * FROM prestabot.claimed_sends(send_ids);
END
$$;
