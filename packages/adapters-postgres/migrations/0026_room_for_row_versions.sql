-- The queue tables' rows are updated where they were written: an outbox row when its send is leased,
-- renewed and recorded, an inbox row when its lease is renewed and when it is done, a message-log row when
-- each status arrives. A new version that fits on its row's page is logged as the bytes that changed and,
-- when no indexed value changed, adds no index entries (a HOT update); one that does not fit is logged
-- whole, with a new entry in every index. Tables filled to 100 % leave no room, so at 100 messages/s most
-- of these updates were moved off the page. Pages written from now on keep room for a few versions.
ALTER TABLE prestabot.outbox SET (fillfactor = 70);
ALTER TABLE prestabot.inbox SET (fillfactor = 80);
ALTER TABLE prestabot.messages SET (fillfactor = 80);

-- record_reach of 0023, in PL/pgSQL: a SQL function with a SET clause is planned again on every call, and
-- every lease and claim calls it (about 1 ms of PostgreSQL's time each, mostly planning, for a statement
-- that usually finds no business-initiated send to count). PL/pgSQL keeps the plan for the session.
CREATE OR REPLACE FUNCTION prestabot.record_reach(p_ids uuid[])
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  WITH reached AS (
    INSERT INTO prestabot.portfolio_reach AS r (portfolio_key, recipient_key, counts_until)
    SELECT DISTINCT ON (1, 2) prestabot.portfolio_key(n.business_portfolio_id, n.tenant_id), o.recipient_key,
           o.leased_until + prestabot.outcome_grace() + prestabot.messaging_window()
    FROM prestabot.outbox o
    JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = o.phone_number_id
    WHERE o.id = ANY (p_ids) AND n.messaging_limit IS NOT NULL
      AND prestabot.is_business_initiated(o.message, o.recipient_key)
    ORDER BY 1, 2, 3 DESC
    ON CONFLICT (portfolio_key, recipient_key) DO UPDATE SET counts_until = greatest(r.counts_until, excluded.counts_until)
    -- xmax is 0 on a row this statement inserted, and set on one it updated.
    RETURNING r.portfolio_key, r.xmax = 0 AS inserted
  )
  INSERT INTO prestabot.portfolio_reach_counts AS c (portfolio_key, reached)
  SELECT reached.portfolio_key, count(*) FILTER (WHERE reached.inserted) FROM reached GROUP BY reached.portfolio_key
  ON CONFLICT (portfolio_key) DO UPDATE SET reached = c.reached + excluded.reached;
END
$$;

-- Every status Meta prices adds a message_pricing row: it needs neither of these. Its tenant is already
-- checked through its number (the (tenant_id, phone_number_id) reference, whose number belongs to that
-- tenant), so the reference to tenants only took a second row lock per row. The index by month alone served
-- the usage report across all tenants, which now reads each tenant's months through the per-tenant index.
ALTER TABLE prestabot.message_pricing DROP CONSTRAINT message_pricing_tenant_id_fkey;
DROP INDEX prestabot.message_pricing_by_month;

-- usage_by_number of 0018, reaching every tenant's rows through (tenant_id, priced_at).
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
      FROM prestabot.message_pricing m
      WHERE m.tenant_id = t.id AND m.priced_at >= p_from AND m.priced_at < p_until
    ) p
    WHERE p_tenant_id IS NULL OR t.id = p_tenant_id
    GROUP BY p.tenant_id, p.phone_number_id, p.category, p.billable
    ORDER BY p.tenant_id::text COLLATE "C", p.phone_number_id COLLATE "C", p.category COLLATE "C", p.billable;
END
$$;
