-- The message path's functions ran every statement they hold on every call, whatever the batch held: a
-- call with nothing to do cost the server 85 µs (store_inbox), 147 µs (record_send_outcomes) and 198 µs
-- (lease_sends), and a message makes about six such calls. Each now runs only the statements its batch
-- needs, with the same results.

-- store_webhook_items without the two functions it called (store_inbox, record_pricing), each a call with
-- settings of its own and a second and third reading of the entries: the entries are read once for what
-- the statements need, pricing is recorded only when a status carries it, and a batch whose every entry
-- is a status just applied (three webhooks of every message sent) is answered without the insert.
CREATE OR REPLACE FUNCTION prestabot.store_webhook_items(
  p_entries jsonb, p_owner text, p_lease_ms integer, p_now timestamptz,
  p_follow_up_origins text[], p_follow_up_statuses text[]
)
RETURNS TABLE (id uuid, tenant_id uuid, outcome text, leased_until timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- As apply_status_batch: rows reached by their keys, never a scan of a growing table, planned once.
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
  applied integer[] := '{}';
  statuses jsonb;
  senders text[];
  priced integer;
BEGIN
  PERFORM prestabot.assert_unscoped();
  SELECT jsonb_agg(jsonb_build_object(
           'ordinal', e.ordinal, 'tenant_id', n.tenant_id, 'phone_number_id', e.phone_number_id,
           'wamid', e.item ->> 'wamid', 'status', e.item ->> 'status', 'at', e.item ->> 'at',
           'error_code', e.item #> '{errors,0,code}', 'error_title', e.item #>> '{errors,0,title}',
           'callback_data', e.item ->> 'bizOpaqueCallbackData'))
           FILTER (WHERE e.kind = 'status' AND n.tenant_id IS NOT NULL),
         array_agg(DISTINCT e.phone_number_id || ' ' || e.ordering_key)
           FILTER (WHERE e.ordering_key IS NOT NULL AND n.tenant_id IS NOT NULL),
         -- Of any number, routed or not, so that the warm-up's entry of no number plans the insert below.
         count(*) FILTER (WHERE e.kind = 'status' AND e.item ? 'pricing')
  INTO statuses, senders, priced
  FROM jsonb_to_recordset(p_entries) AS e (ordinal integer, phone_number_id text, kind text, ordering_key text,
    item jsonb)
  LEFT JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = e.phone_number_id;

  -- What Meta charged, under the tenant of the number (the caller's routing is not trusted for that); a
  -- message already priced (its `sent` and `delivered` both carry the price) is skipped.
  IF priced > 0 THEN
    INSERT INTO prestabot.message_pricing AS p
      (tenant_id, phone_number_id, wamid, priced_at, billable, pricing_model, pricing_type, category)
    SELECT DISTINCT ON (e.phone_number_id, e.item ->> 'wamid')
           n.tenant_id, e.phone_number_id, e.item ->> 'wamid', (e.item ->> 'at')::timestamptz,
           (e.item #>> '{pricing,billable}')::boolean, e.item #>> '{pricing,pricingModel}',
           e.item #>> '{pricing,type}', e.item #>> '{pricing,category}'
    FROM jsonb_to_recordset(p_entries) AS e (ordinal integer, phone_number_id text, kind text, item jsonb)
    JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = e.phone_number_id
    WHERE e.kind = 'status' AND e.item ? 'pricing'
    ORDER BY e.phone_number_id, e.item ->> 'wamid', e.ordinal
    ON CONFLICT (phone_number_id, wamid) DO NOTHING;
  END IF;

  IF p_owner IS NOT NULL AND senders IS NOT NULL THEN
    -- In one order everywhere, so two processes locking the same senders cannot deadlock.
    PERFORM pg_advisory_xact_lock(hashtextextended(ordered.sender, 1658203))
    FROM (SELECT sender FROM unnest(senders) AS sender ORDER BY sender) ordered;
  END IF;
  IF statuses IS NOT NULL THEN
    SELECT coalesce(array_agg(done.ordinal), '{}') INTO applied
    FROM prestabot.apply_status_batch(statuses, p_follow_up_origins, p_follow_up_statuses) done
    WHERE done.result = 'completed';
  END IF;

  -- Every entry a status of a known number, applied: nothing to store.
  IF cardinality(applied) = jsonb_array_length(p_entries) THEN
    RETURN QUERY
      SELECT e.id, n.tenant_id, 'applied', NULL::timestamptz
      FROM jsonb_to_recordset(p_entries) AS e (ordinal integer, id uuid, phone_number_id text)
      JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = e.phone_number_id
      ORDER BY e.ordinal;
    RETURN;
  END IF;

  RETURN QUERY
    WITH input AS (
      SELECT e.*
      FROM jsonb_to_recordset(p_entries) AS e (ordinal integer, id uuid, phone_number_id text,
        delivery_key text, ordering_key text, kind text, item jsonb, item_time timestamptz,
        received_at timestamptz)
    ), routed AS (
      SELECT i.*, n.tenant_id, p_owner IS NOT NULL AND waiting.entry IS NULL AS leased
      FROM input i
      JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = i.phone_number_id
      -- An earlier entry of the sender that is not the owner's, looked up by sender. Written as NOT EXISTS,
      -- the plan made once for any batch hashed every unprocessed entry of every tenant on each call: with a
      -- backlog of 3,100 entries, 3.4 ms a message stored instead of 0.3.
      LEFT JOIN LATERAL (
        SELECT o.id AS entry
        FROM prestabot.inbox o
        WHERE p_owner IS NOT NULL AND i.ordering_key IS NOT NULL
          AND o.tenant_id = n.tenant_id AND o.phone_number_id = i.phone_number_id
          AND o.ordering_key = i.ordering_key AND o.processed_at IS NULL
          AND (o.lease_owner IS DISTINCT FROM p_owner OR o.leased_until <= p_now)
        LIMIT 1
      ) waiting ON true
    ), inserted AS (
      INSERT INTO prestabot.inbox AS x (id, tenant_id, phone_number_id, delivery_key, ordering_key, kind, item,
        item_time, received_at, available_at, attempts, lease_owner, leased_until)
      SELECT r.id, r.tenant_id, r.phone_number_id, r.delivery_key, r.ordering_key, r.kind, r.item, r.item_time,
             r.received_at, r.received_at,
             CASE WHEN r.leased THEN 1 ELSE 0 END,
             CASE WHEN r.leased THEN p_owner END,
             CASE WHEN r.leased THEN p_now + p_lease_ms * interval '1 millisecond' END
      FROM routed r
      WHERE r.ordinal <> ALL (applied)
      ORDER BY r.ordinal
      ON CONFLICT (phone_number_id, delivery_key) DO NOTHING
      RETURNING x.id, x.leased_until
    )
    SELECT i.id, r.tenant_id,
           CASE WHEN s.id IS NOT NULL THEN 'stored'
                WHEN r.id IS NULL THEN 'unrouted'
                WHEN i.ordinal = ANY (applied) THEN 'applied'
                ELSE 'duplicate' END,
           s.leased_until
    FROM input i
    LEFT JOIN routed r ON r.id = i.id
    LEFT JOIN inserted s ON s.id = i.id
    ORDER BY i.ordinal;
END
$$;

-- Called by nothing now: store_webhook_items does what they did.
DROP FUNCTION prestabot.store_inbox(jsonb, text, integer, timestamptz, text[], text[]);
DROP FUNCTION prestabot.record_pricing(jsonb);

-- record_send_outcomes of 0025, each kind of outcome's statement run only when the batch holds that kind:
-- nearly every batch is sends accepted, and the six statements for the other kinds found nothing.
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

-- lease_sends_of of 0028 without the messaging-limit steps inside a tenant's transaction, where they could
-- change nothing (two calls of the three-statement functions per reply).
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
  IF p_tenant IS NULL THEN
    PERFORM prestabot.record_reach(send_ids);
  END IF;

  RETURN QUERY SELECT * FROM prestabot.claimed_sends(send_ids);
END
$$;
