-- Tenants, the deployment's Meta apps, the tenants' WhatsApp numbers and their contacts.
--
-- Tenant-owned tables default `tenant_id` to the scoped tenant, and point at each other through composite
-- foreign keys (tenant_id, x_id) → parent (tenant_id, id), so no row can point into another tenant.

CREATE TABLE prestabot.tenants (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  timezone text NOT NULL CHECK (timezone <> ''),
  locale text NOT NULL CHECK (locale <> ''),
  status text NOT NULL CHECK (status IN ('active', 'suspended')),
  -- Mirrors TenantSettings: profileFlowId, reminderSendHour, defaultCurrency, defaultCallingCode.
  settings jsonb NOT NULL CHECK (jsonb_typeof(settings) = 'object'),
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CALL prestabot.isolate_tenant_table('prestabot.tenants', 'SELECT, INSERT, UPDATE', 'id');

-- Deployment-level: several tenants' numbers may share one app. The secret is sealed (AES-256-GCM).
CREATE TABLE prestabot.meta_apps (
  id uuid PRIMARY KEY,
  meta_app_id text UNIQUE CHECK (meta_app_id ~ '^[0-9]{1,32}$'),
  secret_key_id text NOT NULL,
  secret_ciphertext text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CALL prestabot.close_deployment_table('prestabot.meta_apps');

CREATE TABLE prestabot.whatsapp_numbers (
  tenant_id uuid NOT NULL DEFAULT prestabot.prestabot_current_tenant() REFERENCES prestabot.tenants (id),
  -- Meta's id is globally unique: one number belongs to one tenant, and routes its webhooks.
  phone_number_id text PRIMARY KEY CHECK (phone_number_id ~ '^[0-9]{1,32}$'),
  display_phone_number text CHECK (display_phone_number ~ '^\+[1-9][0-9]{7,14}$'),
  waba_id text NOT NULL CHECK (waba_id ~ '^[0-9]{1,32}$'),
  app_id uuid REFERENCES prestabot.meta_apps (id),
  -- The access token, never in plaintext: missing, empty, or sealed with the key `token_key_id`.
  token_state text NOT NULL CHECK (token_state IN ('missing', 'empty', 'sealed')),
  token_key_id text,
  token_ciphertext text,
  token_length integer CHECK (token_length > 0),
  -- Set when Graph rejected the token (190); sends for the number stop until the token is replaced.
  token_invalid_at timestamptz,
  token_error_code integer,
  rate_per_second integer NOT NULL DEFAULT 80 CHECK (rate_per_second BETWEEN 1 AND 1000),
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (tenant_id, phone_number_id),
  CONSTRAINT whatsapp_numbers_sealed_token CHECK (
    num_nonnulls(token_key_id, token_ciphertext, token_length) = CASE token_state WHEN 'sealed' THEN 3 ELSE 0 END
  ),
  CONSTRAINT whatsapp_numbers_token_invalid CHECK ((token_invalid_at IS NULL) = (token_error_code IS NULL))
);
CALL prestabot.isolate_tenant_table('prestabot.whatsapp_numbers', 'SELECT, INSERT, UPDATE');

CREATE TABLE prestabot.contacts (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL DEFAULT prestabot.prestabot_current_tenant() REFERENCES prestabot.tenants (id),
  phone_e164 text CHECK (phone_e164 ~ '^\+[1-9][0-9]{7,14}$'),
  -- Meta's business-scoped user id, when Meta sends one.
  user_id text CHECK (user_id <> ''),
  name text,
  opted_out boolean NOT NULL DEFAULT false,
  opted_out_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (tenant_id, id),
  CHECK (phone_e164 IS NOT NULL OR user_id IS NOT NULL)
);
CREATE UNIQUE INDEX contacts_phone ON prestabot.contacts (tenant_id, phone_e164) WHERE phone_e164 IS NOT NULL;
CREATE UNIQUE INDEX contacts_user_id ON prestabot.contacts (tenant_id, user_id) WHERE user_id IS NOT NULL;
CALL prestabot.isolate_tenant_table('prestabot.contacts', 'SELECT, INSERT, UPDATE');
