-- Conversation state and the loan tables. No repository uses them yet; they exist now so that row-level
-- security and the tenant-bound foreign keys cover them from the first day they hold data.

-- Where a contact is in a chat flow (a new loan half typed in); expires after a silence.
CREATE TABLE prestabot.conversations (
  tenant_id uuid NOT NULL DEFAULT prestabot.prestabot_current_tenant(),
  contact_id uuid NOT NULL,
  state jsonb NOT NULL,
  -- Optimistic concurrency: an update names the version it read.
  version integer NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (tenant_id, contact_id),
  FOREIGN KEY (tenant_id, contact_id) REFERENCES prestabot.contacts (tenant_id, id)
);
CALL prestabot.isolate_tenant_table('prestabot.conversations', 'SELECT, INSERT, UPDATE, DELETE');

CREATE TABLE prestabot.agreements (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL DEFAULT prestabot.prestabot_current_tenant(),
  lender_contact_id uuid NOT NULL,
  borrower_contact_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('money', 'object')),
  -- Money in integer minor units of `currency` (ISO 4217); an object by its description.
  amount_minor bigint,
  currency text,
  description text,
  -- A calendar date in the tenant's time zone.
  due_date date NOT NULL,
  status text NOT NULL CHECK (status IN ('pending_confirmation', 'active', 'returned', 'rejected', 'cancelled')),
  return_claimed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  confirmed_at timestamptz,
  closed_at timestamptz,
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, lender_contact_id) REFERENCES prestabot.contacts (tenant_id, id),
  FOREIGN KEY (tenant_id, borrower_contact_id) REFERENCES prestabot.contacts (tenant_id, id),
  CHECK (lender_contact_id <> borrower_contact_id),
  CHECK (
    CASE kind
      WHEN 'money' THEN amount_minor > 0 AND currency ~ '^[A-Z]{3}$'
      ELSE amount_minor IS NULL AND currency IS NULL AND coalesce(description, '') <> ''
    END
  )
);
CREATE INDEX agreements_lender ON prestabot.agreements (tenant_id, lender_contact_id);
CREATE INDEX agreements_borrower ON prestabot.agreements (tenant_id, borrower_contact_id);
CALL prestabot.isolate_tenant_table('prestabot.agreements', 'SELECT, INSERT, UPDATE');

-- One reminder per (agreement, kind, local date): exactly once, whichever worker gets there.
CREATE TABLE prestabot.reminders (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL DEFAULT prestabot.prestabot_current_tenant(),
  agreement_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('day_before', 'due_day', 'overdue_1', 'overdue_3', 'overdue_7')),
  local_date date NOT NULL,
  scheduled_at timestamptz NOT NULL,
  recipient_contact_id uuid NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'cancelled', 'skipped', 'failed')),
  outbox_id uuid,
  lease_owner text,
  leased_until timestamptz,
  -- Why it was skipped, cancelled or failed.
  reason text,
  UNIQUE (tenant_id, agreement_id, kind, local_date),
  FOREIGN KEY (tenant_id, agreement_id) REFERENCES prestabot.agreements (tenant_id, id),
  FOREIGN KEY (tenant_id, recipient_contact_id) REFERENCES prestabot.contacts (tenant_id, id),
  FOREIGN KEY (tenant_id, outbox_id) REFERENCES prestabot.outbox (tenant_id, id),
  CHECK ((lease_owner IS NULL) = (leased_until IS NULL))
);
CREATE INDEX reminders_due ON prestabot.reminders (scheduled_at) WHERE status = 'pending';
CALL prestabot.isolate_tenant_table('prestabot.reminders', 'SELECT, INSERT, UPDATE');

-- Approved message templates, per purpose and language, with how our values map onto their parameters.
CREATE TABLE prestabot.templates (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL DEFAULT prestabot.prestabot_current_tenant() REFERENCES prestabot.tenants (id),
  purpose text NOT NULL,
  name text NOT NULL CHECK (name ~ '^[a-z0-9_]+$' AND length(name) <= 512),
  language text NOT NULL CHECK (language ~ '^[a-z]{2,3}(_[A-Z]{2})?$'),
  parameters jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(parameters) = 'array'),
  status text NOT NULL CHECK (status IN ('approved', 'pending', 'rejected', 'paused', 'disabled')),
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, purpose, language)
);
CALL prestabot.isolate_tenant_table('prestabot.templates', 'SELECT, INSERT, UPDATE');
