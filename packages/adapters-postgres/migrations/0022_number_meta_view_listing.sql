-- The operator's listing and a webhook's number route carry Meta's view of the number (issue 12), so
-- `tenants list` and `doctor` show each number's messaging limit, quality and throughput.
ALTER TYPE prestabot.tenant_number
  ADD ATTRIBUTE rate_pinned boolean,
  ADD ATTRIBUTE business_portfolio_id text,
  ADD ATTRIBUTE messaging_limit integer,
  ADD ATTRIBUTE quality_rating text,
  ADD ATTRIBUTE quality_flagged boolean,
  ADD ATTRIBUTE throughput_level text,
  ADD ATTRIBUTE name_status text,
  ADD ATTRIBUTE verified_name text,
  ADD ATTRIBUTE meta_synced_at timestamptz;

CREATE OR REPLACE FUNCTION prestabot.find_number_route(p_phone_number_id text)
RETURNS SETOF prestabot.tenant_number
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY
    SELECT t.id, t.name, t.timezone, t.locale, t.status, t.settings,
           n.phone_number_id, n.display_phone_number, n.waba_id, n.app_id,
           n.token_state, n.token_length, n.token_invalid_at, n.token_error_code, n.rate_per_second,
           n.rate_pinned, n.business_portfolio_id, n.messaging_limit, n.quality_rating, n.quality_flagged,
           n.throughput_level, n.name_status, n.verified_name, n.meta_synced_at
    FROM prestabot.whatsapp_numbers n
    JOIN prestabot.tenants t ON t.id = n.tenant_id
    WHERE n.phone_number_id = p_phone_number_id;
END
$$;

CREATE OR REPLACE FUNCTION prestabot.list_tenants_with_numbers()
RETURNS SETOF prestabot.tenant_number
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY
    SELECT t.id, t.name, t.timezone, t.locale, t.status, t.settings,
           n.phone_number_id, n.display_phone_number, n.waba_id, n.app_id,
           n.token_state, n.token_length, n.token_invalid_at, n.token_error_code, n.rate_per_second,
           n.rate_pinned, n.business_portfolio_id, n.messaging_limit, n.quality_rating, n.quality_flagged,
           n.throughput_level, n.name_status, n.verified_name, n.meta_synced_at
    FROM prestabot.tenants t
    LEFT JOIN prestabot.whatsapp_numbers n ON n.tenant_id = t.id
    ORDER BY t.created_at, t.id, n.created_at, n.phone_number_id;
END
$$;

-- The numbers of a WABA, for the account webhooks (`phone_number_quality_update`,
-- `business_capability_update`), which name a WABA and a display number but no phone_number_id.
CREATE FUNCTION prestabot.find_waba_numbers(p_waba_id text)
RETURNS SETOF prestabot.tenant_number
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY
    SELECT t.id, t.name, t.timezone, t.locale, t.status, t.settings,
           n.phone_number_id, n.display_phone_number, n.waba_id, n.app_id,
           n.token_state, n.token_length, n.token_invalid_at, n.token_error_code, n.rate_per_second,
           n.rate_pinned, n.business_portfolio_id, n.messaging_limit, n.quality_rating, n.quality_flagged,
           n.throughput_level, n.name_status, n.verified_name, n.meta_synced_at
    FROM prestabot.whatsapp_numbers n
    JOIN prestabot.tenants t ON t.id = n.tenant_id
    WHERE n.waba_id = p_waba_id
    ORDER BY n.created_at, n.phone_number_id;
END
$$;
REVOKE ALL ON FUNCTION prestabot.find_waba_numbers(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prestabot.find_waba_numbers(text) TO prestabot_app;

-- A template Meta paused, disabled, rejected or re-categorised stops being used (`find` takes approved
-- ones only); `status_reason` says why, for `templates list`.
ALTER TABLE prestabot.templates
  DROP CONSTRAINT templates_status_check,
  ADD CONSTRAINT templates_status_check
    CHECK (status IN ('approved', 'pending', 'rejected', 'paused', 'disabled', 'recategorised')),
  ADD COLUMN status_reason text CHECK (length(status_reason) BETWEEN 1 AND 300);
