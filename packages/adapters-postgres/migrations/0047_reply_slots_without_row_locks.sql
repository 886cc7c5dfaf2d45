-- A reply's send slot is given without a row lock. lease_sends_of (0032) chose its sends FOR UPDATE SKIP
-- LOCKED, and place_send_slots then updated them: a row lock is written into the row, so a reply leased in
-- the transaction that queued it was written twice (a 54-byte lock record, then its slot). Inside a tenant's
-- transaction the sends are the ones it just queued, which no other transaction can see, let alone lock:
-- they are no longer locked. Across tenants (OutboxQueue.lease, after the commit) they still are, by a
-- statement of their own once chosen, as claim_outbox_rows locks what it picked.
--
-- What the lock guarded, place_send_slots' update now checks itself: a send is leased only if it is still
-- pending and free when the update writes it. Should a tenant's lease ever name a send another process is
-- taking, the update waits for that process and re-reads the row (READ COMMITTED), so a claim that committed
-- its lease keeps it; only the sends it leased are returned.

CREATE OR REPLACE FUNCTION prestabot.place_send_slots(
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
  leased_ids uuid[];
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

  -- Leased only if still free when written: a send the caller did not lock, taken meanwhile by a claim
  -- that committed, is re-read by the update and left out (READ COMMITTED re-checks a changed row).
  WITH leased AS (
    UPDATE prestabot.outbox o
    SET lease_owner = p_owner, send_at = slot.send_at, leased_until = slot.send_at + p_lease_ms * interval '1 millisecond',
        slot_allowance_ms = CASE WHEN slot.id = ANY (alone_ids) THEN prestabot.idle_slot_allowance_ms() ELSE 0 END
    FROM unnest(send_ids, send_slots) AS slot (id, send_at)
    WHERE o.id = ANY (send_ids) AND o.id = slot.id AND o.status = 'pending'
      AND (o.leased_until IS NULL OR o.leased_until + prestabot.outcome_grace() <= to_timestamp(p_now_ms / 1000))
    RETURNING o.id
  )
  SELECT coalesce(array_agg(leased.id), '{}') INTO leased_ids FROM leased;

  RETURN ARRAY(SELECT send.id FROM unnest(send_ids) WITH ORDINALITY AS send (id, ordinal)
               WHERE send.id = ANY (leased_ids) ORDER BY send.ordinal);
END
$$;

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
  ) candidate;

  -- Across tenants the sends were queued by transactions that committed: each is locked, skipping any another
  -- process holds (a claim taking it, an outcome being recorded), and taken only if still free. A tenant's
  -- sends are those its own transaction just queued, which no other can see: a lock would only write
  -- itself into each row (a WAL record a reply), and place_send_slots takes none that was leased meanwhile.
  IF p_tenant IS NULL THEN
    candidate_ids := ARRAY(
      SELECT o.id
      FROM unnest(candidate_ids) WITH ORDINALITY AS candidate (id, ordinal)
      JOIN prestabot.outbox o ON o.id = candidate.id
      WHERE o.id = ANY (candidate_ids) AND o.status = 'pending'
        AND (o.leased_until IS NULL OR o.leased_until + prestabot.outcome_grace() <= p_now)
      ORDER BY candidate.ordinal
      FOR UPDATE OF o SKIP LOCKED);
  END IF;

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
