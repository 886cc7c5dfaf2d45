-- Status webhooks' pricing is recorded by the statement that stores their items, in the same commit:
-- one statement and one commit before a batch of webhooks gets its 200, not two. store_inbox is
-- unchanged; this calls record_pricing with the priced statuses among the entries, then store_inbox.
CREATE FUNCTION prestabot.store_webhook_items(
  p_entries jsonb, p_owner text, p_lease_ms integer, p_now timestamptz,
  p_follow_up_origins text[], p_follow_up_statuses text[]
)
RETURNS TABLE (id uuid, tenant_id uuid, outcome text, leased_until timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  priced jsonb;
BEGIN
  PERFORM prestabot.assert_unscoped();
  SELECT jsonb_agg(jsonb_build_object(
           'ordinal', e.ordinal, 'phone_number_id', e.phone_number_id, 'wamid', e.item ->> 'wamid',
           'at', e.item ->> 'at', 'billable', e.item #> '{pricing,billable}',
           'pricing_model', e.item #>> '{pricing,pricingModel}', 'pricing_type', e.item #>> '{pricing,type}',
           'category', e.item #>> '{pricing,category}'))
  INTO priced
  FROM jsonb_to_recordset(p_entries) AS e (ordinal integer, phone_number_id text, kind text, item jsonb)
  WHERE e.kind = 'status' AND e.item ? 'pricing';
  IF priced IS NOT NULL THEN
    PERFORM prestabot.record_pricing(priced);
  END IF;
  RETURN QUERY
    SELECT * FROM prestabot.store_inbox(p_entries, p_owner, p_lease_ms, p_now, p_follow_up_origins,
      p_follow_up_statuses);
END
$$;

REVOKE ALL ON FUNCTION prestabot.store_webhook_items(jsonb, text, integer, timestamptz, text[], text[])
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prestabot.store_webhook_items(jsonb, text, integer, timestamptz, text[], text[])
TO prestabot_app;
-- Only store_webhook_items records pricing now: the running process needs no direct call.
REVOKE EXECUTE ON FUNCTION prestabot.record_pricing(jsonb) FROM prestabot_app;
