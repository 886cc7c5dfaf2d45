-- The durable queues (inbound inbox, outbound outbox) and the message history.

-- Every webhook item (message or status), stored before Meta gets its 200, processed under leases.
CREATE TABLE prestabot.inbox (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL DEFAULT prestabot.prestabot_current_tenant(),
  phone_number_id text NOT NULL,
  -- A message's wamid, or wamid and status for a status: Meta's redeliveries are recognised by it.
  delivery_key text NOT NULL,
  -- Entries with the same key (a sender) are processed one at a time, oldest first; statuses have none.
  ordering_key text,
  kind text NOT NULL CHECK (kind IN ('message', 'status')),
  item jsonb NOT NULL,
  -- WhatsApp's timestamp of the item: the processing order.
  item_time timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  available_at timestamptz NOT NULL,
  lease_owner text,
  leased_until timestamptz,
  processed_at timestamptz,
  abandoned boolean NOT NULL DEFAULT false,
  last_error text,
  UNIQUE (phone_number_id, delivery_key),
  FOREIGN KEY (tenant_id, phone_number_id) REFERENCES prestabot.whatsapp_numbers (tenant_id, phone_number_id),
  CHECK ((lease_owner IS NULL) = (leased_until IS NULL))
);
-- The claim walks pending entries in processing order, and probes a sender's pending entries.
CREATE INDEX inbox_pending_in_order ON prestabot.inbox (item_time, received_at, id) WHERE processed_at IS NULL;
CREATE INDEX inbox_pending_by_sender ON prestabot.inbox (tenant_id, phone_number_id, ordering_key, item_time, received_at, id)
  WHERE processed_at IS NULL AND ordering_key IS NOT NULL;
CALL prestabot.isolate_tenant_table('prestabot.inbox', 'SELECT, INSERT, UPDATE');
-- A queue: rows churn through the partial indexes, so vacuum and analyze it far sooner than the default
-- (20 % / 10 % of the table changed).
ALTER TABLE prestabot.inbox SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

-- Inbound messages (they open the 24-hour window) and outbound messages with their delivery status.
CREATE TABLE prestabot.messages (
  tenant_id uuid NOT NULL DEFAULT prestabot.prestabot_current_tenant(),
  direction text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  wamid text NOT NULL,
  phone_number_id text NOT NULL,
  contact_id uuid,
  type text NOT NULL,
  -- Inbound: WhatsApp's timestamp of the user's message.
  sent_at timestamptz,
  -- Outbound: when Graph accepted it, and where it is now.
  accepted_at timestamptz,
  status text CHECK (status IN ('queued', 'accepted', 'sent', 'delivered', 'read', 'played', 'failed')),
  status_at timestamptz,
  error_code integer,
  error_title text,
  -- The outbox entry that sent it, as the application names it (not a foreign key: any string).
  outbox_id text,
  origin jsonb,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (tenant_id, direction, wamid),
  FOREIGN KEY (tenant_id, phone_number_id) REFERENCES prestabot.whatsapp_numbers (tenant_id, phone_number_id),
  FOREIGN KEY (tenant_id, contact_id) REFERENCES prestabot.contacts (tenant_id, id),
  CHECK (
    CASE direction
      WHEN 'inbound' THEN contact_id IS NOT NULL AND sent_at IS NOT NULL
      ELSE accepted_at IS NOT NULL AND status IS NOT NULL AND outbox_id IS NOT NULL AND origin IS NOT NULL
    END
  )
);
-- "The user's last message to this number": one index probe.
CREATE INDEX messages_last_inbound ON prestabot.messages (tenant_id, phone_number_id, contact_id, sent_at DESC)
  WHERE direction = 'inbound';
CALL prestabot.isolate_tenant_table('prestabot.messages', 'SELECT, INSERT, UPDATE');

-- Outbound messages waiting for (or done with) their send, under each number's rate.
CREATE TABLE prestabot.outbox (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL DEFAULT prestabot.prestabot_current_tenant(),
  phone_number_id text NOT NULL,
  -- Absent only for messages that address a message rather than a person (mark-as-read).
  recipient jsonb,
  -- The recipient as one string (`+569…` or `user:…`): at most one message per recipient in flight.
  recipient_key text,
  contact_id uuid,
  message jsonb NOT NULL,
  reply_to text,
  origin jsonb NOT NULL,
  idempotency_key text NOT NULL,
  priority integer NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  not_before timestamptz NOT NULL,
  available_at timestamptz NOT NULL,
  lease_owner text,
  leased_until timestamptz,
  -- The send slot of the latest claim: the moment the message may go out within its number's rate.
  send_at timestamptz,
  wamid text,
  last_failure jsonb,
  created_at timestamptz NOT NULL,
  sent_at timestamptz,
  failed_at timestamptz,
  UNIQUE (tenant_id, idempotency_key),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, phone_number_id) REFERENCES prestabot.whatsapp_numbers (tenant_id, phone_number_id),
  FOREIGN KEY (tenant_id, contact_id) REFERENCES prestabot.contacts (tenant_id, id),
  CHECK ((recipient IS NULL) = (recipient_key IS NULL)),
  CHECK ((lease_owner IS NULL) = (leased_until IS NULL))
);
-- The claim walks each number's pending messages in send order, and probes a recipient's pending ones.
CREATE INDEX outbox_pending_by_number ON prestabot.outbox (phone_number_id, priority DESC, available_at, created_at, id)
  WHERE status = 'pending';
CREATE INDEX outbox_pending_by_recipient ON prestabot.outbox (phone_number_id, recipient_key, priority DESC, available_at, created_at, id)
  WHERE status = 'pending' AND recipient_key IS NOT NULL;
CALL prestabot.isolate_tenant_table('prestabot.outbox', 'SELECT, INSERT, UPDATE');
ALTER TABLE prestabot.outbox SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

-- Meta's pair rate limit (131056): a recipient of a number on hold until `until`.
CREATE TABLE prestabot.outbox_recipient_holds (
  tenant_id uuid NOT NULL DEFAULT prestabot.prestabot_current_tenant(),
  phone_number_id text NOT NULL,
  recipient_key text NOT NULL,
  until timestamptz NOT NULL,
  PRIMARY KEY (phone_number_id, recipient_key),
  FOREIGN KEY (tenant_id, phone_number_id) REFERENCES prestabot.whatsapp_numbers (tenant_id, phone_number_id)
);
CALL prestabot.isolate_tenant_table('prestabot.outbox_recipient_holds', 'SELECT, INSERT, UPDATE, DELETE');

-- Deployment-level, like the rate Meta enforces per number whoever sends: the next free send slot of each
-- number. Only the outbox claim reads and writes it, locking a number's row while it places that number's
-- slots, so two processes never hand out overlapping slots. No tenant session has any use for it.
CREATE TABLE prestabot.number_send_pacing (
  phone_number_id text PRIMARY KEY REFERENCES prestabot.whatsapp_numbers (phone_number_id) ON DELETE CASCADE,
  -- NULL: the number has never sent (it starts from now).
  next_free_at timestamptz
);
CALL prestabot.close_deployment_table('prestabot.number_send_pacing');
