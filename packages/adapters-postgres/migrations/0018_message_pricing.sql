-- What Meta charges, message by message: the `pricing` its status webhooks carry (billable, pricing model,
-- type, category). `prestabot usage` bills tenants from it. Statuses are applied by store_inbox; pricing is
-- recorded beside them, by its own function, so the status path is untouched.

-- One row per message: every status of a message repeats its pricing, and a redelivered webhook repeats it
-- again; the first recorded is kept. A message counts in the month it was first priced (priced_at).
CREATE TABLE prestabot.message_pricing (
  tenant_id uuid NOT NULL DEFAULT prestabot.prestabot_current_tenant() REFERENCES prestabot.tenants (id),
  phone_number_id text NOT NULL,
  wamid text NOT NULL CHECK (wamid <> ''),
  priced_at timestamptz NOT NULL,
  billable boolean NOT NULL,
  pricing_model text NOT NULL CHECK (pricing_model <> ''),
  pricing_type text CHECK (pricing_type <> ''),
  category text NOT NULL CHECK (category <> ''),
  PRIMARY KEY (phone_number_id, wamid),
  FOREIGN KEY (tenant_id, phone_number_id) REFERENCES prestabot.whatsapp_numbers (tenant_id, phone_number_id)
);
-- A month of one tenant, or of every tenant, is read by time.
CREATE INDEX message_pricing_by_tenant_month ON prestabot.message_pricing (tenant_id, priced_at);
CREATE INDEX message_pricing_by_month ON prestabot.message_pricing (priced_at);
-- Written only by record_pricing; the app role gets the grants every tenant table has, under its policy.
CALL prestabot.isolate_tenant_table('prestabot.message_pricing', 'SELECT, INSERT, UPDATE');

-- Records priced messages of any tenants, each under the tenant its number belongs to (the caller's
-- routing is not trusted for that). A message already recorded, or of a number no tenant has, is skipped.
-- Input rows: phone_number_id, wamid, at, billable, pricing_model, pricing_type, category.
CREATE FUNCTION prestabot.record_pricing(p_messages jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  INSERT INTO prestabot.message_pricing AS p
    (tenant_id, phone_number_id, wamid, priced_at, billable, pricing_model, pricing_type, category)
  SELECT DISTINCT ON (m.phone_number_id, m.wamid)
         n.tenant_id, m.phone_number_id, m.wamid, m.at, m.billable, m.pricing_model, m.pricing_type, m.category
  FROM jsonb_to_recordset(p_messages) AS m (ordinal integer, phone_number_id text, wamid text,
    at timestamptz, billable boolean, pricing_model text, pricing_type text, category text)
  JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = m.phone_number_id
  ORDER BY m.phone_number_id, m.wamid, m.ordinal
  ON CONFLICT (phone_number_id, wamid) DO NOTHING;
END
$$;

-- Messages priced in [p_from, p_until) by tenant, number, category and billable; one tenant's, or every
-- tenant's when p_tenant_id is null. Ordered byte by byte, whatever the database's collation.
CREATE FUNCTION prestabot.usage_by_number(p_tenant_id uuid, p_from timestamptz, p_until timestamptz)
RETURNS TABLE (tenant_id uuid, phone_number_id text, category text, billable boolean, messages integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY
    SELECT p.tenant_id, p.phone_number_id, p.category, p.billable, count(*)::integer
    FROM prestabot.message_pricing p
    WHERE (p_tenant_id IS NULL OR p.tenant_id = p_tenant_id)
      AND p.priced_at >= p_from AND p.priced_at < p_until
    GROUP BY p.tenant_id, p.phone_number_id, p.category, p.billable
    ORDER BY p.tenant_id::text COLLATE "C", p.phone_number_id COLLATE "C", p.category COLLATE "C", p.billable;
END
$$;

REVOKE ALL ON FUNCTION
  prestabot.record_pricing(jsonb),
  prestabot.usage_by_number(uuid, timestamptz, timestamptz)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
  prestabot.record_pricing(jsonb),
  prestabot.usage_by_number(uuid, timestamptz, timestamptz)
TO prestabot_app;
