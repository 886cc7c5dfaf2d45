-- A message answered in the transaction that stores it (store_webhook_items' p_answered) is inserted done,
-- and nothing reads a done entry's item again: its conversation has moved on, and the retention job prunes
-- the row. Its item (the whole inbound message as JSON, about 340 bytes of a 510-byte row) was written to
-- the WAL all the same, 7 % of a message's. A row written done now keeps its keys, times and lease count,
-- not its item; reopen_inbox_entries, which puts back the few a write could not answer after all, now
-- restores the item from its caller, as an entry waiting for work needs it. The person's words are no
-- longer kept once answered, either.
--
-- A process still running the old code passes no item to reopen_inbox_entries: the check below then fails
-- its write, which its webhook answers with a 503 and Meta redelivers to a process on this version.

ALTER TABLE prestabot.inbox ALTER COLUMN item DROP NOT NULL;
-- Every row written so far has an item (the column was NOT NULL), so there is nothing to validate; NOT VALID
-- spares a scan of the whole inbox under an exclusive lock.
ALTER TABLE prestabot.inbox
  ADD CONSTRAINT inbox_item_until_processed CHECK (item IS NOT NULL OR processed_at IS NOT NULL) NOT VALID;

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

CREATE OR REPLACE FUNCTION prestabot.reopen_inbox_entries(p_entries jsonb)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  reopened integer;
BEGIN
  PERFORM prestabot.assert_unscoped();
  UPDATE prestabot.inbox e
  SET processed_at = NULL, lease_owner = h.lease_owner, leased_until = h.leased_until, item = h.item
  FROM jsonb_to_recordset(p_entries) AS h (id uuid, lease_owner text, leased_until timestamptz, item jsonb)
  WHERE e.id = h.id AND e.processed_at IS NOT NULL AND e.lease_owner IS NULL
    AND e.xmin = pg_current_xact_id()::xid;
  GET DIAGNOSTICS reopened = ROW_COUNT;
  RETURN reopened;
END
$$;
