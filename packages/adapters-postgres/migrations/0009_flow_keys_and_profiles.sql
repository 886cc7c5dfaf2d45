-- WhatsApp Flows: the endpoint's private keys, and what the "My profile" Flow keeps about a person.

-- A Flows endpoint private key, sealed (AES-256-GCM) as tokens are. A key serves one number, or every
-- number of its tenant when `phone_number_id` is NULL. A new key retires the current one of its number
-- (or tenant), which keeps opening requests for a grace period: keys are retired, never deleted.
CREATE TABLE prestabot.flow_keys (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL DEFAULT prestabot.prestabot_current_tenant() REFERENCES prestabot.tenants (id),
  phone_number_id text,
  -- Names the key without revealing it: the first 16 hex digits of SHA-256 over its public half.
  fingerprint text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{16}$'),
  private_key_key_id text NOT NULL,
  private_key_ciphertext text NOT NULL,
  created_at timestamptz NOT NULL,
  retired_at timestamptz,
  FOREIGN KEY (tenant_id, phone_number_id) REFERENCES prestabot.whatsapp_numbers (tenant_id, phone_number_id)
);
-- At most one current key per number, and one per tenant for its numbers. Two partial indexes, because a
-- unique index counts NULLs as distinct: with one on (tenant_id, phone_number_id), a tenant could have any
-- number of current tenant-wide keys (NULLS NOT DISTINCT would need PostgreSQL 15).
CREATE UNIQUE INDEX flow_keys_current_per_number ON prestabot.flow_keys (tenant_id, phone_number_id)
  WHERE retired_at IS NULL AND phone_number_id IS NOT NULL;
CREATE UNIQUE INDEX flow_keys_current_per_tenant ON prestabot.flow_keys (tenant_id)
  WHERE retired_at IS NULL AND phone_number_id IS NULL;
-- A tenant's keys newest first, read in index order.
CREATE INDEX flow_keys_newest ON prestabot.flow_keys (tenant_id, created_at DESC, id);
CALL prestabot.isolate_tenant_table('prestabot.flow_keys', 'SELECT, INSERT, UPDATE');

-- How a lender gets paid back: the person's email, and their bank details sealed (an account number is
-- nobody else's business), both columns or neither.
-- A name the person typed in their profile is theirs: the WhatsApp profile name of later messages no
-- longer replaces it.
ALTER TABLE prestabot.contacts
  ADD COLUMN name_chosen boolean NOT NULL DEFAULT false,
  ADD COLUMN email text CHECK (length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  ADD COLUMN bank_details_key_id text,
  ADD COLUMN bank_details_ciphertext text,
  ADD CONSTRAINT contacts_sealed_bank_details CHECK (
    num_nonnulls(bank_details_key_id, bank_details_ciphertext) IN (0, 2)
  );

-- Every tenant's Flows keys, newest first, sealed as stored: the Flows endpoint learns a request's tenant
-- only by opening it with one of them.
CREATE FUNCTION prestabot.list_flow_keys()
RETURNS SETOF prestabot.flow_keys
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY SELECT k.* FROM prestabot.flow_keys k ORDER BY k.created_at DESC, k.id;
END
$$;

REVOKE ALL ON FUNCTION prestabot.list_flow_keys() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prestabot.list_flow_keys() TO prestabot_app;
