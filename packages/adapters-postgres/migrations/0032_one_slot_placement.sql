-- One piece of SQL places send slots. claim_outbox_rows (0031) and lease_sends_of (0031) each carried the
-- same loop: walk the chosen sends number by number, give each the number's next slot within the horizon
-- (a slowed number's business-initiated send waits for its business slot), store the lanes' next free
-- moments (pace_lanes) and lease what was placed. That loop is now place_send_slots, and the reading and
-- locking of the numbers' lanes before it lock_send_lanes; the two callers keep only what differs: which
-- sends they choose, and how they lock them. `placeSendSlots` in send-pacing.ts is the same walk for the
-- in-memory store; the pacing property test holds them equal.

-- Places slots for the sends given (locked by the caller, in send order, grouped by number) on the lanes
-- the caller locked, stores each lane's next free moments, and leases the placed sends to p_owner until
-- their slot plus p_lease_ms. A send whose slot would start after p_horizon_at_ms (epoch ms) is left
-- unplaced. Returns the ids placed. Every name is qualified; it plans as lease_sends_of does, whoever calls
-- it first in a session (a plan is kept per function, not per caller).
CREATE FUNCTION prestabot.place_send_slots(
  p_ids uuid[], p_lane_numbers text[], p_lane_starts double precision[], p_lane_spacings double precision[],
  p_lane_business_starts double precision[], p_lane_business_spacings double precision[],
  p_owner text, p_lease_ms integer, p_now_ms double precision, p_horizon_at_ms double precision
)
RETURNS uuid[]
LANGUAGE plpgsql VOLATILE
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
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
  FOR chosen IN
    SELECT o.id, o.phone_number_id, prestabot.is_business_initiated(o.message, o.recipient_key) AS business,
           lane.start_ms, lane.spacing_ms, lane.business_start_ms, lane.business_spacing_ms
    FROM unnest(p_ids) WITH ORDINALITY AS send (id, ordinal)
    JOIN prestabot.outbox o ON o.id = send.id
    JOIN unnest(p_lane_numbers, p_lane_starts, p_lane_spacings, p_lane_business_starts, p_lane_business_spacings)
      AS lane (phone_number_id, start_ms, spacing_ms, business_start_ms, business_spacing_ms)
      ON lane.phone_number_id = o.phone_number_id
    WHERE o.id = ANY (p_ids)
    ORDER BY send.ordinal
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
    -- A slowed number's later business-initiated messages wait for a later claim or lease.
    CONTINUE WHEN chosen.business AND business_next_ms > next_ms;
    IF next_ms <= p_horizon_at_ms THEN
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
    -- Rounded up, as placeSendSlots does: rounding down would let many small claims creep above the rate.
    paced_numbers := paced_numbers || current_number;
    paced_next_free := paced_next_free || to_timestamp(ceil(next_ms) / 1000);
    paced_business_next := paced_business_next || to_timestamp(ceil(business_next_ms) / 1000);
  END IF;

  alone_ids := prestabot.pace_lanes(paced_numbers, paced_next_free, paced_business_next,
                                    send_ids, send_numbers, p_lane_numbers, p_lane_starts, p_now_ms);

  UPDATE prestabot.outbox o
  SET lease_owner = p_owner, send_at = slot.send_at, leased_until = slot.send_at + p_lease_ms * interval '1 millisecond',
      slot_allowance_ms = CASE WHEN slot.id = ANY (alone_ids) THEN prestabot.idle_slot_allowance_ms() ELSE 0 END
  FROM unnest(send_ids, send_slots) AS slot (id, send_at)
  WHERE o.id = ANY (send_ids) AND o.id = slot.id;

  RETURN send_ids;
END
$$;
REVOKE ALL ON FUNCTION prestabot.place_send_slots(uuid[], text[], double precision[], double precision[],
  double precision[], double precision[], text, integer, double precision, double precision) FROM PUBLIC;

-- The lanes of the numbers given: creates the pacing rows they lack, then locks those of numbers whose token
-- is valid, skipping any another process holds (it is placing that number's slots right now: no two
-- processes place slots for one number). Each row stays locked until the caller's transaction ends, and
-- gives where the number's next slots may start and their spacing, at both paces (the business ones NULL
-- where quality slows none). Planned as place_send_slots.
CREATE FUNCTION prestabot.lock_send_lanes(p_numbers text[], p_now_ms double precision, p_rate_share double precision)
RETURNS TABLE (phone_number_id text, start_ms double precision, spacing_ms double precision,
               business_start_ms double precision, business_spacing_ms double precision)
LANGUAGE plpgsql VOLATILE
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
  INSERT INTO prestabot.number_send_pacing (phone_number_id)
  SELECT DISTINCT number.phone_number_id FROM unnest(p_numbers) AS number (phone_number_id)
  ON CONFLICT DO NOTHING;

  RETURN QUERY
    SELECT p.phone_number_id,
           greatest(p_now_ms, coalesce((extract(epoch FROM p.next_free_at) * 1000)::double precision, p_now_ms)),
           1000 / (n.rate_per_second * p_rate_share),
           CASE WHEN prestabot.business_pace_share(n.quality_rating, n.quality_flagged) < 1 THEN
             greatest(p_now_ms, coalesce((extract(epoch FROM p.business_next_free_at) * 1000)::double precision, p_now_ms))
           END,
           CASE WHEN prestabot.business_pace_share(n.quality_rating, n.quality_flagged) < 1 THEN
             1000 / (n.rate_per_second * p_rate_share * prestabot.business_pace_share(n.quality_rating, n.quality_flagged))
           END
    FROM prestabot.number_send_pacing p
    JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = p.phone_number_id
    WHERE p.phone_number_id = ANY (p_numbers) AND n.token_invalid_at IS NULL
    ORDER BY p.phone_number_id
    FOR UPDATE OF p SKIP LOCKED;
END
$$;
REVOKE ALL ON FUNCTION prestabot.lock_send_lanes(text[], double precision, double precision) FROM PUBLIC;

-- The claim of 0031, its sends placed by place_send_slots.
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
  chosen_ids uuid[];
  send_ids uuid[];
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

  -- Each number's capacity is the number of slots that fit before the horizon, counted as the in-memory
  -- claim counts them.
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
  FROM prestabot.lock_send_lanes(busy_numbers, now_ms, p_rate_share) lane;

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

  -- A message whose send is being recorded right now is left for a later claim.
  SELECT coalesce(array_agg(c.id ORDER BY c.phone_number_id, c.position), '{}')
  INTO chosen_ids
  FROM (
    SELECT picked.id, picked.phone_number_id, picked.position
    FROM unnest(picked_ids[1:p_limit], picked_numbers[1:p_limit]) WITH ORDINALITY AS picked (id, phone_number_id, position)
    JOIN prestabot.outbox o ON o.id = picked.id
    WHERE picked.id = ANY (allowed_ids)
      AND o.status = 'pending' AND (o.leased_until IS NULL OR o.leased_until + prestabot.outcome_grace() <= p_now)
    FOR UPDATE OF o SKIP LOCKED
  ) c;

  send_ids := prestabot.place_send_slots(chosen_ids, lane_numbers, lane_starts, lane_spacings,
    lane_business_starts, lane_business_spacings, p_owner, p_lease_ms, now_ms, horizon_ms);
  PERFORM prestabot.record_reach(send_ids);

  RETURN QUERY SELECT * FROM prestabot.outbox o WHERE o.id = ANY (send_ids) ORDER BY o.send_at, o.phone_number_id;
END
$$;

-- lease_sends_of of 0031, the same way.
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
  send_ids uuid[];
BEGIN
  SELECT coalesce(array_agg(lane.phone_number_id ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.start_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.spacing_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.business_start_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.business_spacing_ms ORDER BY lane.phone_number_id), '{}')
  INTO lane_numbers, lane_starts, lane_spacings, lane_business_starts, lane_business_spacings
  FROM prestabot.lock_send_lanes(
    ARRAY(SELECT o.phone_number_id FROM prestabot.outbox o
          WHERE o.id = ANY (p_ids) AND (p_tenant IS NULL OR o.tenant_id = p_tenant)),
    now_ms, p_rate_share) lane;

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

  send_ids := prestabot.place_send_slots(allowed_ids, lane_numbers, lane_starts, lane_spacings,
    lane_business_starts, lane_business_spacings, p_owner, p_lease_ms, now_ms, horizon_ms);
  IF p_tenant IS NULL THEN
    PERFORM prestabot.record_reach(send_ids);
  END IF;

  RETURN QUERY SELECT * FROM prestabot.claimed_sends(send_ids);
END
$$;
