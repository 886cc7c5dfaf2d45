-- A message's price goes on its log row. Meta's `sent` and `delivered` statuses each carry the price of the
-- message; the first was inserted into message_pricing: a row, its key (number, wamid), its index by tenant
-- and month, the speculative insert's confirmation and a row lock on the number for the foreign key, about
-- 570 bytes of WAL a message, 12 % of it. The statement applying the status already writes a new version of
-- the message's row (a HOT update, no index touched): the price now rides in that version, a few dozen bytes
-- more. message_pricing keeps only the price of a status whose message the log does not know when it
-- arrives (its send's answer not recorded yet, or a message another app sent from the number), as before;
-- usage_by_number counts each message once, from its row if it is priced there.
--
-- The usage report now reads each tenant's log through its primary key (tenant_id first) and filters by
-- month: a report's cost, where an index by month would make every pricing update write index entries.

ALTER TABLE prestabot.messages
  ADD COLUMN priced_at timestamptz,
  ADD COLUMN billable boolean,
  ADD COLUMN pricing_model text CHECK (pricing_model <> ''),
  ADD COLUMN pricing_type text CHECK (pricing_type <> ''),
  ADD COLUMN category text CHECK (category <> ''),
  ADD CONSTRAINT messages_priced_whole CHECK (
    (priced_at IS NULL) = (billable IS NULL) AND (priced_at IS NULL) = (pricing_model IS NULL)
    AND (priced_at IS NULL) = (category IS NULL) AND (priced_at IS NOT NULL OR pricing_type IS NULL));

-- Prices already recorded for known messages move to their rows, so a later priced status keeps the first.
UPDATE prestabot.messages m
SET priced_at = p.priced_at, billable = p.billable, pricing_model = p.pricing_model,
    pricing_type = p.pricing_type, category = p.category
FROM prestabot.message_pricing p
WHERE m.tenant_id = p.tenant_id AND m.direction = 'outbound' AND m.wamid = p.wamid
  AND m.phone_number_id = p.phone_number_id;

-- statuses_of of 0012 with each status's price.
DROP FUNCTION prestabot.statuses_of(jsonb);
CREATE FUNCTION prestabot.statuses_of(p_statuses jsonb)
RETURNS TABLE (ordinal integer, tenant_id uuid, phone_number_id text, wamid text, status text, at timestamptz,
  error_code integer, error_title text, callback_outbox_id uuid, pricing jsonb)
LANGUAGE sql IMMUTABLE
AS $$
  SELECT s.ordinal, s.tenant_id, s.phone_number_id, s.wamid, s.status, s.at, s.error_code, s.error_title,
         CASE WHEN s.callback_data ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
              THEN s.callback_data::uuid END,
         s.pricing
  FROM jsonb_to_recordset(p_statuses) AS s (ordinal integer, tenant_id uuid, phone_number_id text,
    wamid text, status text, at timestamptz, error_code integer, error_title text, callback_data text,
    pricing jsonb)
$$;

REVOKE ALL ON FUNCTION prestabot.statuses_of(jsonb) FROM PUBLIC;

-- apply_status_batch of 0012, pricing the messages it moves.
CREATE OR REPLACE FUNCTION prestabot.apply_status_batch(
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
           (array_agg(a.error_title ORDER BY a.at) FILTER (WHERE a.status = 'failed'))[1] AS error_title,
           -- The price the first priced status carries, with that status's time.
           (array_agg(a.pricing || jsonb_build_object('at', a.at) ORDER BY a.ordinal)
              FILTER (WHERE a.pricing IS NOT NULL))[1] AS priced
    FROM prestabot.statuses_of(p_statuses) a
    GROUP BY a.tenant_id, a.wamid
  LOOP
    FOR attempt IN 1..2 LOOP
      -- The status moves forward, and the message is priced once (the first price kept), in one row version.
      UPDATE prestabot.messages m
      SET status = prestabot.advance_status(m.status, move.incoming),
          status_at = CASE WHEN prestabot.advance_status(m.status, move.incoming) <> m.status
                           THEN move.incoming_at ELSE m.status_at END,
          error_code = CASE WHEN move.incoming = 'failed' AND m.status <> 'failed'
                            THEN coalesce(move.error_code, m.error_code) ELSE m.error_code END,
          error_title = CASE WHEN move.incoming = 'failed' AND m.status <> 'failed'
                             THEN coalesce(move.error_title, m.error_title) ELSE m.error_title END,
          priced_at = coalesce(m.priced_at, (move.priced ->> 'at')::timestamptz),
          billable = CASE WHEN m.priced_at IS NULL THEN (move.priced ->> 'billable')::boolean ELSE m.billable END,
          pricing_model = CASE WHEN m.priced_at IS NULL THEN move.priced ->> 'pricingModel' ELSE m.pricing_model END,
          pricing_type = CASE WHEN m.priced_at IS NULL THEN move.priced ->> 'type' ELSE m.pricing_type END,
          category = CASE WHEN m.priced_at IS NULL THEN move.priced ->> 'category' ELSE m.category END
      WHERE m.tenant_id = move.tenant_id AND m.direction = 'outbound' AND m.wamid = move.wamid
        AND (prestabot.advance_status(m.status, move.incoming) <> m.status
             OR (m.priced_at IS NULL AND move.priced IS NOT NULL))
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


-- store_webhook_items of 0037, pricing in message_pricing only the statuses of messages the log does not know.
CREATE OR REPLACE FUNCTION prestabot.store_webhook_items(
  p_entries jsonb, p_owner text, p_lease_ms integer, p_now timestamptz,
  p_follow_up_origins text[], p_follow_up_statuses text[], p_answered uuid[] DEFAULT '{}'
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
  unknown integer[] := '{}';
  statuses jsonb;
  senders text[];
  priced integer;
BEGIN
  PERFORM prestabot.assert_unscoped();
  SELECT jsonb_agg(jsonb_build_object(
           'ordinal', e.ordinal, 'tenant_id', n.tenant_id, 'phone_number_id', e.phone_number_id,
           'wamid', e.item ->> 'wamid', 'status', e.item ->> 'status', 'at', e.item ->> 'at',
           'error_code', e.item #> '{errors,0,code}', 'error_title', e.item #>> '{errors,0,title}',
           'callback_data', e.item ->> 'bizOpaqueCallbackData', 'pricing', e.item -> 'pricing'))
           FILTER (WHERE e.kind = 'status' AND n.tenant_id IS NOT NULL),
         array_agg(DISTINCT e.phone_number_id || ' ' || e.ordering_key)
           FILTER (WHERE e.ordering_key IS NOT NULL AND n.tenant_id IS NOT NULL),
         -- Of any number, routed or not, so that the warm-up's entry of no number plans the insert below.
         count(*) FILTER (WHERE e.kind = 'status' AND e.item ? 'pricing')
  INTO statuses, senders, priced
  FROM jsonb_to_recordset(p_entries) AS e (ordinal integer, phone_number_id text, kind text, ordering_key text,
    item jsonb)
  LEFT JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = e.phone_number_id;

  IF p_owner IS NOT NULL AND senders IS NOT NULL THEN
    -- In one order everywhere, so two processes locking the same senders cannot deadlock.
    PERFORM pg_advisory_xact_lock(hashtextextended(ordered.sender, 1658203))
    FROM (SELECT sender FROM unnest(senders) AS sender ORDER BY sender) ordered;
  END IF;
  IF statuses IS NOT NULL THEN
    SELECT coalesce(array_agg(done.ordinal) FILTER (WHERE done.result = 'completed'), '{}'),
           coalesce(array_agg(done.ordinal) FILTER (WHERE done.result = 'unknown'), '{}')
    INTO applied, unknown
    FROM prestabot.apply_status_batch(statuses, p_follow_up_origins, p_follow_up_statuses) done;
  END IF;

  -- What Meta charged for a message the log does not know (yet, or at all: another app's on the number),
  -- under the tenant of the number (the caller's routing is not trusted for that); apply_status_batch
  -- priced every message it knows on its own row. A message already priced here is skipped.
  IF priced > 0 THEN
    INSERT INTO prestabot.message_pricing AS p
      (tenant_id, phone_number_id, wamid, priced_at, billable, pricing_model, pricing_type, category)
    SELECT DISTINCT ON (e.phone_number_id, e.item ->> 'wamid')
           n.tenant_id, e.phone_number_id, e.item ->> 'wamid', (e.item ->> 'at')::timestamptz,
           (e.item #>> '{pricing,billable}')::boolean, e.item #>> '{pricing,pricingModel}',
           e.item #>> '{pricing,type}', e.item #>> '{pricing,category}'
    FROM jsonb_to_recordset(p_entries) AS e (ordinal integer, phone_number_id text, kind text, item jsonb)
    JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = e.phone_number_id
    WHERE e.kind = 'status' AND e.item ? 'pricing' AND e.ordinal = ANY (unknown)
    ORDER BY e.phone_number_id, e.item ->> 'wamid', e.ordinal
    ON CONFLICT (phone_number_id, wamid) DO NOTHING;
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
      SELECT i.*, n.tenant_id, p_owner IS NOT NULL AND waiting.entry IS NULL AS leased,
             i.id = ANY (p_answered) AS answered
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
        item_time, received_at, available_at, attempts, lease_owner, leased_until, processed_at)
      SELECT r.id, r.tenant_id, r.phone_number_id, r.delivery_key, r.ordering_key, r.kind,
             -- Nothing reads an answered entry's item; one put back gets it again (reopen_inbox_entries).
             CASE WHEN r.leased AND r.answered THEN NULL ELSE r.item END, r.item_time,
             r.received_at, r.received_at,
             CASE WHEN r.leased THEN 1 ELSE 0 END,
             CASE WHEN r.leased AND NOT r.answered THEN p_owner END,
             CASE WHEN r.leased AND NOT r.answered THEN p_now + p_lease_ms * interval '1 millisecond' END,
             CASE WHEN r.leased AND r.answered THEN p_now END
      FROM routed r
      WHERE r.ordinal <> ALL (applied)
      ORDER BY r.ordinal
      ON CONFLICT (phone_number_id, delivery_key) DO NOTHING
      -- The lease an entry written done would have had: it is put back under it if it is not answered.
      RETURNING x.id, CASE WHEN x.processed_at IS NULL THEN x.leased_until
                           ELSE p_now + p_lease_ms * interval '1 millisecond' END AS leased_until
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


-- usage_by_number of 0026, counting each message once, in the month of its first price: a message priced
-- both on its row and in message_pricing (its status came before its send's answer was recorded, and a
-- later one priced the row) counts at the earlier of the two.
CREATE OR REPLACE FUNCTION prestabot.usage_by_number(p_tenant_id uuid, p_from timestamptz, p_until timestamptz)
RETURNS TABLE (tenant_id uuid, phone_number_id text, category text, billable boolean, messages integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY
    SELECT p.tenant_id, p.phone_number_id, p.category, p.billable, count(*)::integer
    FROM prestabot.tenants t
    CROSS JOIN LATERAL (
      SELECT m.tenant_id, m.phone_number_id, m.category, m.billable
      FROM prestabot.messages m
      LEFT JOIN prestabot.message_pricing r ON r.phone_number_id = m.phone_number_id AND r.wamid = m.wamid
      WHERE m.tenant_id = t.id AND m.priced_at IS NOT NULL
        AND least(m.priced_at, r.priced_at) >= p_from AND least(m.priced_at, r.priced_at) < p_until
      UNION ALL
      SELECT r.tenant_id, r.phone_number_id, r.category, r.billable
      FROM prestabot.message_pricing r
      WHERE r.tenant_id = t.id AND r.priced_at >= p_from AND r.priced_at < p_until
        AND NOT EXISTS (
          SELECT 1 FROM prestabot.messages m
          WHERE m.tenant_id = r.tenant_id AND m.direction = 'outbound' AND m.wamid = r.wamid
            AND m.priced_at IS NOT NULL)
    ) p
    WHERE p_tenant_id IS NULL OR t.id = p_tenant_id
    GROUP BY p.tenant_id, p.phone_number_id, p.category, p.billable
    ORDER BY p.tenant_id::text COLLATE "C", p.phone_number_id COLLATE "C", p.category COLLATE "C", p.billable;
END
$$;
