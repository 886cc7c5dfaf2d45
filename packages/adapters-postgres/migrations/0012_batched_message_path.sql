-- The batched message path. A message used to cost about nine transactions: storing its webhook, claiming
-- it, processing it, claiming its reply, reading the number's token, recording Graph's answer, and the
-- same again for each of its three status webhooks. Now:
--   * webhooks that arrive together are stored in one statement, for any tenants (store_inbox), each
--     leased at once to the process that stored it, which processes it without a claim;
--   * statuses are applied in one statement for a whole batch (apply_statuses), and a status that names a
--     send whose answer was never recorded marks it sent (Meta echoes the outbox id in
--     biz_opaque_callback_data), so a crash after Graph accepted a send does not send it again;
--   * replies just queued get their send slots without a claim (lease_sends), a claim hands each send the
--     sealed token it needs (no read per send), and Graph's answers are recorded for many sends in one
--     statement (record_send_outcomes).
-- Every function here is cross-tenant like those of 0005: SECURITY DEFINER, pinned search_path, refused
-- inside a tenant scope, callable by the application role only. None takes a tenant from its caller: a
-- row's tenant is always read from the number, inbox entry or outbox message it concerns.

-- The order of delivery statuses, as the domain's advanceStatus has it: a message only moves forward
-- along queued < accepted < sent < delivered < read < played, and `failed` is final. NULL changes nothing.
-- No SET clause, so the planner inlines it into the statements that call it (it names nothing outside
-- pg_catalog, and its callers pin their search_path).
CREATE FUNCTION prestabot.advance_status(p_current text, p_incoming text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE
    WHEN p_incoming IS NULL OR p_current = 'failed' THEN p_current
    WHEN p_incoming = 'failed' THEN 'failed'
    WHEN array_position(ARRAY['queued', 'accepted', 'sent', 'delivered', 'read', 'played'], p_incoming)
       > array_position(ARRAY['queued', 'accepted', 'sent', 'delivered', 'read', 'played'], p_current)
      THEN p_incoming
    ELSE p_current
  END
$$;

-- Applies delivery statuses, each to the outbound message of its own tenant: an internal step of
-- store_inbox and apply_statuses, which say whose each status is. Each message moves forward only
-- (advance_status); statuses of one message in one batch give the same result in any order. A status for
-- a wamid never recorded that names (in its callback data) an outbox message of that tenant and number
-- still pending proves Graph accepted that send: it is marked sent and logged first. Each status is then
-- judged: 'unknown' (no message of its tenant has the wamid: nothing changed), 'follow_up' (its
-- message's origin kind is in p_follow_up_origins or its status now in p_follow_up_statuses: the caller
-- runs its listeners) or 'completed'. Input rows: ordinal, tenant_id, phone_number_id, wamid, status, at,
-- error_code, error_title, callback_data.
CREATE FUNCTION prestabot.apply_status_batch(
  p_statuses jsonb, p_follow_up_origins text[], p_follow_up_statuses text[]
)
RETURNS TABLE (ordinal integer, result text, status text, outbox_id text, origin jsonb, contact_id uuid)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- A batch is a few rows against tables that grow (messages, outbox): each row is reached by its key. The
-- statistics of a young table say it is nearly empty, and a plan made then (plans are kept for the
-- session) scans all of it; with its statements driven by the batch and scans disabled, a batch costs what
-- it holds, not what the table holds (measured: 2 ms and growing per batch of 8 over 10,000 messages).
-- Those plans do not depend on the values, so each is made once per session: planning every call was
-- half of these functions' time.
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
  move record;
  message record;
  judged_keys text[] := '{}';
  judged_results text[] := '{}';
  judged_statuses text[] := '{}';
  judged_outbox_ids text[] := '{}';
  judged_origins jsonb[] := '{}';
  judged_contacts uuid[] := '{}';
BEGIN
  -- One pass per message named in the batch: its statuses folded into one move (its furthest status, or
  -- failed if any status failed it), applied in one statement in the usual case.
  FOR move IN
    SELECT a.tenant_id, a.wamid, min(a.phone_number_id) AS phone_number_id,
           (array_agg(a.callback_outbox_id ORDER BY a.at) FILTER (WHERE a.callback_outbox_id IS NOT NULL))[1]
             AS callback_outbox_id,
           min(a.at) AS first_at,
           CASE WHEN bool_or(a.status = 'failed') THEN 'failed'
                ELSE (array_agg(a.status ORDER BY array_position(
                        ARRAY['sent', 'delivered', 'read', 'played'], a.status) DESC, a.at DESC))[1]
           END AS incoming,
           coalesce((array_agg(a.at ORDER BY a.at) FILTER (WHERE a.status = 'failed'))[1],
                    (array_agg(a.at ORDER BY array_position(
                       ARRAY['sent', 'delivered', 'read', 'played'], a.status) DESC, a.at DESC))[1]) AS incoming_at,
           (array_agg(a.error_code ORDER BY a.at) FILTER (WHERE a.status = 'failed'))[1] AS error_code,
           (array_agg(a.error_title ORDER BY a.at) FILTER (WHERE a.status = 'failed'))[1] AS error_title
    FROM prestabot.statuses_of(p_statuses) a
    GROUP BY a.tenant_id, a.wamid
  LOOP
    FOR attempt IN 1..2 LOOP
      UPDATE prestabot.messages m
      SET status = prestabot.advance_status(m.status, move.incoming),
          status_at = move.incoming_at,
          error_code = CASE WHEN move.incoming = 'failed' THEN coalesce(move.error_code, m.error_code) ELSE m.error_code END,
          error_title = CASE WHEN move.incoming = 'failed' THEN coalesce(move.error_title, m.error_title) ELSE m.error_title END
      WHERE m.tenant_id = move.tenant_id AND m.direction = 'outbound' AND m.wamid = move.wamid
        AND prestabot.advance_status(m.status, move.incoming) <> m.status
      RETURNING m.status, m.outbox_id, m.origin, m.contact_id INTO message;
      EXIT WHEN FOUND;
      -- Not moved: already there, or not known (yet).
      SELECT m.status, m.outbox_id, m.origin, m.contact_id INTO message
      FROM prestabot.messages m
      WHERE m.tenant_id = move.tenant_id AND m.direction = 'outbound' AND m.wamid = move.wamid;
      EXIT WHEN FOUND OR attempt = 2 OR move.callback_outbox_id IS NULL;
      -- A send Graph accepted whose answer was never recorded: the status is the proof. Marked sent and
      -- logged, then moved by the status as any other.
      WITH marked AS (
        UPDATE prestabot.outbox o
        SET status = 'sent', wamid = move.wamid, sent_at = move.first_at, attempts = o.attempts + 1,
            lease_owner = NULL, leased_until = NULL
        WHERE o.tenant_id = move.tenant_id AND o.id = move.callback_outbox_id
          AND o.phone_number_id = move.phone_number_id AND o.status = 'pending'
        RETURNING o.tenant_id, o.id, o.phone_number_id, o.contact_id, o.message, o.origin
      )
      INSERT INTO prestabot.messages
        (tenant_id, direction, wamid, phone_number_id, contact_id, type, accepted_at, status, status_at,
         outbox_id, origin)
      SELECT m.tenant_id, 'outbound', move.wamid, m.phone_number_id, m.contact_id, m.message ->> 'type',
             move.first_at, 'accepted', move.first_at, m.id::text, m.origin
      FROM marked m
      ON CONFLICT (tenant_id, direction, wamid) DO NOTHING;
      EXIT WHEN NOT FOUND;
    END LOOP;
    judged_keys := judged_keys || (move.tenant_id::text || ' ' || move.wamid);
    judged_results := judged_results ||
      CASE WHEN message.status IS NULL THEN 'unknown'
           WHEN message.origin ->> 'kind' = ANY (p_follow_up_origins)
                OR message.status = ANY (p_follow_up_statuses) THEN 'follow_up'
           ELSE 'completed' END;
    judged_statuses := judged_statuses || message.status;
    judged_outbox_ids := judged_outbox_ids || message.outbox_id;
    judged_origins := judged_origins || message.origin;
    judged_contacts := judged_contacts || message.contact_id;
  END LOOP;

  -- Each status judged on its message as it now is.
  RETURN QUERY
    SELECT a.ordinal, j.result, j.status, j.outbox_id, j.origin, j.contact_id
    FROM prestabot.statuses_of(p_statuses) a
    JOIN unnest(judged_keys, judged_results, judged_statuses, judged_outbox_ids, judged_origins, judged_contacts)
      AS j (key, result, status, outbox_id, origin, contact_id)
      ON j.key = a.tenant_id::text || ' ' || a.wamid;
END
$$;

-- The rows apply_status_batch reads, twice: the batch does not change between its statements. Inlined
-- where it is called (no SET clause; it names nothing outside pg_catalog), so it costs no planning per call.
CREATE FUNCTION prestabot.statuses_of(p_statuses jsonb)
RETURNS TABLE (ordinal integer, tenant_id uuid, phone_number_id text, wamid text, status text, at timestamptz,
  error_code integer, error_title text, callback_outbox_id uuid)
LANGUAGE sql IMMUTABLE
AS $$
  SELECT s.ordinal, s.tenant_id, s.phone_number_id, s.wamid, s.status, s.at, s.error_code, s.error_title,
         CASE WHEN s.callback_data ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
              THEN s.callback_data::uuid END
  FROM jsonb_to_recordset(p_statuses) AS s (ordinal integer, tenant_id uuid, phone_number_id text,
    wamid text, status text, at timestamptz, error_code integer, error_title text, callback_data text)
$$;

REVOKE ALL ON FUNCTION
  prestabot.apply_status_batch(jsonb, text[], text[]),
  prestabot.statuses_of(jsonb)
FROM PUBLIC;

-- Stores webhook items of any tenants in one statement: each under the tenant its number belongs to (the
-- caller's routing is not trusted for that), once per (number, delivery key).
-- A delivery status is applied at once instead (apply_status_batch), and stored only if it is 'unknown'
-- (its send is not recorded yet) or wanted for a follow-up: applying a status again changes nothing, so
-- a redelivery needs no stored key to be recognised, and most statuses leave no row behind.
-- With an owner, a new entry is leased to it at once (its first attempt) unless another unprocessed entry
-- of the same sender is not the owner's: that sender's entries then wait for the claim, which hands them
-- out in order. Senders are locked while deciding, so two processes storing one sender's messages at once
-- decide in turn.
-- One row per input entry, in input order: 'stored' (leased or not), 'applied' (a status, nothing stored),
-- 'duplicate', or 'unrouted' (no tenant has the number).
CREATE FUNCTION prestabot.store_inbox(
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
BEGIN
  PERFORM prestabot.assert_unscoped();
  SELECT jsonb_agg(jsonb_build_object(
           'ordinal', e.ordinal, 'tenant_id', n.tenant_id, 'phone_number_id', e.phone_number_id,
           'wamid', e.item ->> 'wamid', 'status', e.item ->> 'status', 'at', e.item ->> 'at',
           'error_code', e.item #> '{errors,0,code}', 'error_title', e.item #>> '{errors,0,title}',
           'callback_data', e.item ->> 'bizOpaqueCallbackData')) FILTER (WHERE e.kind = 'status'),
         array_agg(DISTINCT e.phone_number_id || ' ' || e.ordering_key) FILTER (WHERE e.ordering_key IS NOT NULL)
  INTO statuses, senders
  FROM jsonb_to_recordset(p_entries) AS e (ordinal integer, phone_number_id text, kind text, ordering_key text,
    item jsonb)
  JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = e.phone_number_id;

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

  RETURN QUERY
    WITH input AS (
      SELECT e.*
      FROM jsonb_to_recordset(p_entries) AS e (ordinal integer, id uuid, phone_number_id text,
        delivery_key text, ordering_key text, kind text, item jsonb, item_time timestamptz,
        received_at timestamptz)
    ), routed AS (
      SELECT i.*, n.tenant_id,
             p_owner IS NOT NULL AND (i.ordering_key IS NULL OR NOT EXISTS (
               SELECT 1 FROM prestabot.inbox o
               WHERE o.tenant_id = n.tenant_id AND o.phone_number_id = i.phone_number_id
                 AND o.ordering_key = i.ordering_key AND o.processed_at IS NULL
                 AND (o.lease_owner IS DISTINCT FROM p_owner OR o.leased_until <= p_now))) AS leased
      FROM input i
      JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = i.phone_number_id
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

-- Applies the statuses of inbox entries the caller still holds (stored for a follow-up, or unknown when
-- they arrived), each to its entry's tenant (apply_status_batch). Completes each entry unless it is still
-- unknown or wanted for a follow-up; one row per entry: those results, or 'lease_lost'.
CREATE FUNCTION prestabot.apply_statuses(
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
        AND e.lease_owner = s.lease_owner AND e.leased_until = s.leased_until
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

-- What a claimed send needs: the message, its lease and slot, and its number's sealed token.
CREATE TYPE prestabot.claimed_send AS (
  id uuid, tenant_id uuid, phone_number_id text, recipient jsonb, contact_id uuid, message jsonb,
  fallback jsonb, reply_to text, origin jsonb, idempotency_key text, priority integer, status text,
  attempts integer, not_before timestamptz, created_at timestamptz, wamid text, last_failure jsonb,
  lease_owner text, leased_until timestamptz, send_at timestamptz, slot_misses integer,
  token_state text, token_key_id text, token_ciphertext text, token_length integer
);

-- The sends just leased, with their tokens, in slot order. Internal: only the definer functions call it
-- (under their pinned search_path; it has none of its own, so it is inlined where they call it).
CREATE FUNCTION prestabot.claimed_sends(p_ids uuid[]) RETURNS SETOF prestabot.claimed_send
LANGUAGE sql STABLE
AS $$
  SELECT o.id, o.tenant_id, o.phone_number_id, o.recipient, o.contact_id, o.message, o.fallback, o.reply_to,
         o.origin, o.idempotency_key, o.priority, o.status, o.attempts, o.not_before, o.created_at, o.wamid,
         o.last_failure, o.lease_owner, o.leased_until, o.send_at, o.slot_misses,
         n.token_state, n.token_key_id, n.token_ciphertext, n.token_length
  FROM prestabot.outbox o
  JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = o.phone_number_id
  WHERE o.id = ANY (p_ids)
  ORDER BY o.send_at, o.phone_number_id
$$;
REVOKE ALL ON FUNCTION prestabot.claimed_sends(uuid[]) FROM PUBLIC;

-- The claim of 0008, now handing each send its token too.
ALTER FUNCTION prestabot.claim_outbox(text, integer, integer, timestamptz, integer, double precision)
  RENAME TO claim_outbox_rows;
-- Internal now: only claim_outbox calls it, as the definer already.
ALTER FUNCTION prestabot.claim_outbox_rows(text, integer, integer, timestamptz, integer, double precision)
  SECURITY INVOKER;
REVOKE ALL ON FUNCTION prestabot.claim_outbox_rows(text, integer, integer, timestamptz, integer, double precision)
  FROM PUBLIC, prestabot_app;

CREATE FUNCTION prestabot.claim_outbox(
  p_owner text, p_limit integer, p_lease_ms integer, p_now timestamptz, p_horizon_ms integer, p_rate_share double precision
)
RETURNS SETOF prestabot.claimed_send
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  claimed uuid[];
BEGIN
  PERFORM prestabot.assert_unscoped();
  claimed := ARRAY(
    SELECT c.id FROM prestabot.claim_outbox_rows(p_owner, p_limit, p_lease_ms, p_now, p_horizon_ms, p_rate_share) c);
  -- A statement of its own: in the one that claimed, the leases just written would not be seen.
  RETURN QUERY SELECT * FROM prestabot.claimed_sends(claimed);
END
$$;

-- Send slots for messages just queued (replies), without a claim: the same rules as claim_outbox for the
-- given messages only. A message is leased if it is due, not leased, its number's token is not flagged,
-- its recipient is not on hold, and it is the first of its recipient's pending messages with nothing of
-- theirs in flight; its number's pacing row is not being used by a claim elsewhere (skipped, not waited
-- for); and its slot falls within the horizon. The rest stay for the claim.
CREATE FUNCTION prestabot.lease_sends(
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
      AND (o.leased_until IS NULL OR o.leased_until <= p_now)
      AND NOT EXISTS (
        SELECT 1 FROM prestabot.outbox_recipient_holds h
        WHERE h.phone_number_id = o.phone_number_id AND h.recipient_key = o.recipient_key AND h.until > p_now)
      AND NOT EXISTS (
        SELECT 1 FROM prestabot.outbox e
        WHERE e.phone_number_id = o.phone_number_id AND e.recipient_key = o.recipient_key
          AND e.status = 'pending' AND e.id <> o.id
          AND (e.leased_until > p_now
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

-- Graph's answers to many sends in one statement, each only while the caller still holds the message's
-- lease. Each record carries its `ordinal` (place) in the batch. Returns, per record, whether it was recorded. A 'sent' record for a message already marked
-- sent with the same wamid (by a status naming it, see apply_statuses) counts as recorded.
--   sent           status sent, the wamid kept, logged as an outbound message
--   retry          due again at retry_at, the failure kept
--   failed         failed for good, the failure kept
--   requeue        its slot passed before it could leave: due again, no attempt counted, one more miss
--   fallback       the 24-hour window had closed: its template takes its place, due at once
--   hold           Meta's pair limit: the recipient waits until retry_at, and the message with them
--   token_invalid  Graph refused the token: the number is flagged, unless its token was replaced since
--                  (the record names the ciphertext it sent with), and the message waits until retry_at
CREATE FUNCTION prestabot.record_send_outcomes(p_records jsonb)
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
    WHERE o.id = ANY (ids) AND o.status = 'pending' AND o.lease_owner = r.lease_owner AND o.leased_until = r.leased_until
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

REVOKE ALL ON FUNCTION
  prestabot.store_inbox(jsonb, text, integer, timestamptz, text[], text[]),
  prestabot.apply_statuses(jsonb, timestamptz, text[], text[]),
  prestabot.claim_outbox(text, integer, integer, timestamptz, integer, double precision),
  prestabot.lease_sends(uuid[], text, integer, timestamptz, integer, double precision),
  prestabot.record_send_outcomes(jsonb)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
  prestabot.store_inbox(jsonb, text, integer, timestamptz, text[], text[]),
  prestabot.apply_statuses(jsonb, timestamptz, text[], text[]),
  prestabot.claim_outbox(text, integer, integer, timestamptz, integer, double precision),
  prestabot.lease_sends(uuid[], text, integer, timestamptz, integer, double precision),
  prestabot.record_send_outcomes(jsonb)
TO prestabot_app;
