-- The only cross-tenant paths: SECURITY DEFINER functions, each narrow, each callable by the application
-- role only, and none from inside a tenant-scoped transaction (prestabot.assert_unscoped). They run as
-- their owner, the migrating role, which must bypass row-level security (see 0001). Their search_path is
-- pinned and every object they use is schema-qualified, so nothing a caller creates can stand in for one.

-- A number with its tenant, never its token: what routing a webhook and listing tenants need.
CREATE TYPE prestabot.tenant_number AS (
  tenant_id uuid,
  tenant_name text,
  tenant_timezone text,
  tenant_locale text,
  tenant_status text,
  tenant_settings jsonb,
  phone_number_id text,
  display_phone_number text,
  waba_id text,
  app_id uuid,
  token_state text,
  token_length integer,
  token_invalid_at timestamptz,
  token_error_code integer,
  rate_per_second integer
);

-- Which tenant a webhook's number belongs to.
CREATE FUNCTION prestabot.find_number_route(p_phone_number_id text)
RETURNS SETOF prestabot.tenant_number
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY
    SELECT t.id, t.name, t.timezone, t.locale, t.status, t.settings,
           n.phone_number_id, n.display_phone_number, n.waba_id, n.app_id,
           n.token_state, n.token_length, n.token_invalid_at, n.token_error_code, n.rate_per_second
    FROM prestabot.whatsapp_numbers n
    JOIN prestabot.tenants t ON t.id = n.tenant_id
    WHERE n.phone_number_id = p_phone_number_id;
END
$$;

-- The operator's listing: every tenant, once per number (number columns NULL for a tenant without one).
CREATE FUNCTION prestabot.list_tenants_with_numbers()
RETURNS SETOF prestabot.tenant_number
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY
    SELECT t.id, t.name, t.timezone, t.locale, t.status, t.settings,
           n.phone_number_id, n.display_phone_number, n.waba_id, n.app_id,
           n.token_state, n.token_length, n.token_invalid_at, n.token_error_code, n.rate_per_second
    FROM prestabot.tenants t
    LEFT JOIN prestabot.whatsapp_numbers n ON n.tenant_id = t.id
    ORDER BY t.created_at, t.id, n.created_at, n.phone_number_id;
END
$$;

-- The Meta apps whose (sealed) secrets may have signed a webhook.
CREATE FUNCTION prestabot.list_meta_apps()
RETURNS SETOF prestabot.meta_apps
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY SELECT a.* FROM prestabot.meta_apps a ORDER BY a.created_at, a.id;
END
$$;

-- Registers an app, or replaces the secret of the app with the same Meta app id; returns the app's id.
CREATE FUNCTION prestabot.register_meta_app(p_id uuid, p_meta_app_id text, p_secret_key_id text, p_secret_ciphertext text)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  registered uuid;
BEGIN
  PERFORM prestabot.assert_unscoped();
  IF p_meta_app_id IS NULL THEN
    INSERT INTO prestabot.meta_apps AS a (id, secret_key_id, secret_ciphertext)
    VALUES (p_id, p_secret_key_id, p_secret_ciphertext)
    ON CONFLICT (id) DO UPDATE
      SET meta_app_id = NULL, secret_key_id = excluded.secret_key_id,
          secret_ciphertext = excluded.secret_ciphertext, updated_at = clock_timestamp()
    RETURNING a.id INTO registered;
  ELSE
    INSERT INTO prestabot.meta_apps AS a (id, meta_app_id, secret_key_id, secret_ciphertext)
    VALUES (p_id, p_meta_app_id, p_secret_key_id, p_secret_ciphertext)
    ON CONFLICT (meta_app_id) DO UPDATE
      SET secret_key_id = excluded.secret_key_id, secret_ciphertext = excluded.secret_ciphertext,
          updated_at = clock_timestamp()
    RETURNING a.id INTO registered;
  END IF;
  RETURN registered;
END
$$;

-- Leases due inbox entries of any tenant, oldest first. A sender's entries go one at a time: only their
-- oldest pending entry is eligible, and only while none of their entries holds a live lease.
CREATE FUNCTION prestabot.claim_inbox(p_owner text, p_limit integer, p_lease_ms integer, p_now timestamptz, p_ids uuid[])
RETURNS SETOF prestabot.inbox
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- `p_ids IS NULL` must fold away when planning, so each claim shape gets its own plan.
SET plan_cache_mode = force_custom_plan
-- Walk the pending entries in order and stop at the limit. Queue statistics go stale between
-- autovacuum's visits (a burst arrives after the last ANALYZE), and with a low row estimate the planner
-- would rather fetch and sort every pending entry: 20,000 of them take 50 ms instead of 2.
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY
    WITH chosen AS (
      SELECT e.id
      FROM prestabot.inbox e
      WHERE e.processed_at IS NULL
        AND e.available_at <= p_now
        AND (e.leased_until IS NULL OR e.leased_until <= p_now)
        AND (p_ids IS NULL OR e.id = ANY (p_ids))
        AND (e.ordering_key IS NULL OR NOT EXISTS (
          SELECT 1
          FROM prestabot.inbox o
          WHERE o.tenant_id = e.tenant_id
            AND o.phone_number_id = e.phone_number_id
            AND o.ordering_key = e.ordering_key
            AND o.processed_at IS NULL
            AND o.id <> e.id
            AND ((o.item_time, o.received_at, o.id) < (e.item_time, e.received_at, e.id) OR o.leased_until > p_now)))
      ORDER BY e.item_time, e.received_at, e.id
      LIMIT p_limit
      FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE prestabot.inbox i
      SET attempts = i.attempts + 1,
          lease_owner = p_owner,
          leased_until = p_now + p_lease_ms * interval '1 millisecond'
      FROM chosen
      WHERE i.id = chosen.id
      RETURNING i.*
    )
    SELECT * FROM claimed ORDER BY item_time, received_at, id;
END
$$;

-- Entries waiting for processing (leased ones included), and the oldest of them.
CREATE FUNCTION prestabot.inbox_depth(p_now timestamptz)
RETURNS TABLE (pending integer, oldest_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY
    SELECT count(*)::integer, min(e.available_at)
    FROM prestabot.inbox e
    WHERE e.processed_at IS NULL AND e.available_at <= p_now;
END
$$;

-- Leases due outbox messages of any tenant, each with its send slot. Per number: skipped while its token
-- is flagged invalid; at most one message per recipient in flight, the first by priority, availability,
-- age; recipients on hold wait. Numbers take turns, so one backlog never fills the whole claim. Slots are
-- placed exactly as the application's placeSendSlots does (same double arithmetic, same order): evenly
-- spaced 1/(rate·0.98) apart from the number's next free moment, never past the horizon.
CREATE FUNCTION prestabot.claim_outbox(p_owner text, p_limit integer, p_lease_ms integer, p_now timestamptz, p_horizon_ms integer)
RETURNS SETOF prestabot.outbox
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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
           1000 / (n.rate_per_second * 0.98::double precision) AS spacing_ms
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
            AND (o.leased_until IS NULL OR o.leased_until <= p_now)
            AND NOT EXISTS (
              SELECT 1 FROM prestabot.outbox_recipient_holds h
              WHERE h.phone_number_id = o.phone_number_id AND h.recipient_key = o.recipient_key AND h.until > p_now)
            -- One probe of the recipient's pending messages: one of them in flight, or one ahead of this one.
            AND NOT EXISTS (
              SELECT 1 FROM prestabot.outbox e
              WHERE e.phone_number_id = o.phone_number_id AND e.recipient_key = o.recipient_key
                AND e.status = 'pending' AND e.id <> o.id
                AND (e.leased_until > p_now
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
    WHERE o.status = 'pending' AND (o.leased_until IS NULL OR o.leased_until <= p_now)
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

-- Messages waiting to be sent (leased ones included), and the oldest of them.
CREATE FUNCTION prestabot.outbox_depth(p_now timestamptz)
RETURNS TABLE (pending integer, oldest_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY
    SELECT count(*)::integer, min(o.available_at)
    FROM prestabot.outbox o
    WHERE o.status = 'pending' AND o.available_at <= p_now;
END
$$;

REVOKE ALL ON FUNCTION
  prestabot.find_number_route(text),
  prestabot.list_tenants_with_numbers(),
  prestabot.list_meta_apps(),
  prestabot.register_meta_app(uuid, text, text, text),
  prestabot.claim_inbox(text, integer, integer, timestamptz, uuid[]),
  prestabot.inbox_depth(timestamptz),
  prestabot.claim_outbox(text, integer, integer, timestamptz, integer),
  prestabot.outbox_depth(timestamptz)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
  prestabot.find_number_route(text),
  prestabot.list_tenants_with_numbers(),
  prestabot.list_meta_apps(),
  prestabot.register_meta_app(uuid, text, text, text),
  prestabot.claim_inbox(text, integer, integer, timestamptz, uuid[]),
  prestabot.inbox_depth(timestamptz),
  prestabot.claim_outbox(text, integer, integer, timestamptz, integer),
  prestabot.outbox_depth(timestamptz)
TO prestabot_app;
