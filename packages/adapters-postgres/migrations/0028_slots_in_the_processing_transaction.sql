-- Replies get their send slots in the transaction that queues them, where their number's pace allows: the
-- lease that followed the processing commit as a statement and a commit of its own is now a statement of
-- that transaction, pipelined with the rest of it. lease_sends' body (0023) becomes lease_sends_of, which
-- leases only p_tenant's messages when given a tenant; lease_sends (unscoped, any tenant's messages, for
-- messages queued outside a processing transaction) and lease_tenant_sends (only inside a tenant's unit of
-- work, only that tenant's messages) are its two doors.
CREATE FUNCTION prestabot.lease_sends_of(
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

  allowed_ids := prestabot.within_messaging_limits(candidate_ids, p_now);

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

  UPDATE prestabot.number_send_pacing p
  SET next_free_at = paced.next_free_at, business_next_free_at = coalesce(paced.business_next, p.business_next_free_at)
  FROM unnest(paced_numbers, paced_next_free, paced_business_next) AS paced (phone_number_id, next_free_at, business_next)
  WHERE p.phone_number_id = paced.phone_number_id;

  UPDATE prestabot.outbox o
  SET lease_owner = p_owner, send_at = slot.send_at, leased_until = slot.send_at + p_lease_ms * interval '1 millisecond'
  FROM unnest(send_ids, send_slots) AS slot (id, send_at)
  WHERE o.id = ANY (send_ids) AND o.id = slot.id;
  PERFORM prestabot.record_reach(send_ids);

  RETURN QUERY SELECT * FROM prestabot.claimed_sends(send_ids);
END
$$;

REVOKE ALL ON FUNCTION prestabot.lease_sends_of(uuid, uuid[], text, integer, timestamptz, integer, double precision) FROM PUBLIC;

CREATE OR REPLACE FUNCTION prestabot.lease_sends(
  p_ids uuid[], p_owner text, p_lease_ms integer, p_now timestamptz, p_horizon_ms integer, p_rate_share double precision
)
RETURNS SETOF prestabot.claimed_send
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY SELECT * FROM prestabot.lease_sends_of(NULL, p_ids, p_owner, p_lease_ms, p_now, p_horizon_ms, p_rate_share);
END
$$;

-- The scoped tenant's own messages only, and none business-initiated: the only rows it touches beyond them
-- are the pacing rows of the tenant's own numbers (no portfolio's reach or limit, which tenants may share).
CREATE FUNCTION prestabot.lease_tenant_sends(
  p_ids uuid[], p_owner text, p_lease_ms integer, p_now timestamptz, p_horizon_ms integer, p_rate_share double precision
)
RETURNS SETOF prestabot.claimed_send
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tenant constant uuid := prestabot.prestabot_current_tenant();
BEGIN
  IF tenant IS NULL THEN
    RAISE EXCEPTION 'lease_tenant_sends runs only inside a tenant-scoped transaction'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN QUERY SELECT * FROM prestabot.lease_sends_of(tenant, p_ids, p_owner, p_lease_ms, p_now, p_horizon_ms, p_rate_share);
END
$$;

REVOKE ALL ON FUNCTION prestabot.lease_tenant_sends(uuid[], text, integer, timestamptz, integer, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prestabot.lease_tenant_sends(uuid[], text, integer, timestamptz, integer, double precision) TO prestabot_app;
