-- A status of a sent message rewrites the message's row in place (a HOT update), and the WAL holds the new
-- row from its first changed byte to its last. The price went on the row in 0038 as five columns at its
-- end, so the `sent` status, which sets the status and the price, logged everything between them too: the
-- outbox id, the origin, the creation time. That update came to about 250 bytes, against 85 for `delivered`
-- or `read`. The log is rebuilt with its columns in an order that puts what a status changes at the end:
-- the status, its time, then the price.
--
-- The rebuild copies every row once, under an exclusive lock on the log: on a large log, run it when
-- little is sent. Everything else is as it was: keys, checks, policy, grants, the reference checks of 0040.

CREATE TABLE prestabot.messages_rebuilt (
  tenant_id uuid NOT NULL DEFAULT prestabot.prestabot_current_tenant(),
  direction text NOT NULL CONSTRAINT messages_direction_check CHECK (direction IN ('inbound', 'outbound')),
  wamid text NOT NULL,
  phone_number_id text NOT NULL,
  contact_id uuid,
  type text NOT NULL,
  sent_at timestamptz,
  accepted_at timestamptz,
  outbox_id text,
  origin jsonb,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  error_code integer,
  error_title text,
  status text CONSTRAINT messages_status_check
    CHECK (status IN ('queued', 'accepted', 'sent', 'delivered', 'read', 'played', 'failed')),
  status_at timestamptz,
  priced_at timestamptz,
  billable boolean,
  pricing_model text CONSTRAINT messages_pricing_model_check CHECK (pricing_model <> ''),
  pricing_type text CONSTRAINT messages_pricing_type_check CHECK (pricing_type <> ''),
  category text CONSTRAINT messages_category_check CHECK (category <> ''),
  CONSTRAINT messages_check CHECK (
    CASE direction
      WHEN 'inbound' THEN contact_id IS NOT NULL AND sent_at IS NOT NULL
      ELSE accepted_at IS NOT NULL AND status IS NOT NULL AND outbox_id IS NOT NULL AND origin IS NOT NULL
    END),
  CONSTRAINT messages_priced_whole CHECK (
    (priced_at IS NULL) = (billable IS NULL) AND (priced_at IS NULL) = (pricing_model IS NULL)
    AND (priced_at IS NULL) = (category IS NULL) AND (priced_at IS NOT NULL OR pricing_type IS NULL))
) WITH (fillfactor = 80);

INSERT INTO prestabot.messages_rebuilt
  (tenant_id, direction, wamid, phone_number_id, contact_id, type, sent_at, accepted_at, outbox_id, origin,
   created_at, error_code, error_title, status, status_at, priced_at, billable, pricing_model, pricing_type,
   category)
SELECT tenant_id, direction, wamid, phone_number_id, contact_id, type, sent_at, accepted_at, outbox_id, origin,
       created_at, error_code, error_title, status, status_at, priced_at, billable, pricing_model, pricing_type,
       category
FROM prestabot.messages;

DROP TABLE prestabot.messages;
ALTER TABLE prestabot.messages_rebuilt RENAME TO messages;
ALTER TABLE prestabot.messages ADD CONSTRAINT messages_pkey PRIMARY KEY (tenant_id, direction, wamid);
CALL prestabot.isolate_tenant_table('prestabot.messages', 'SELECT, INSERT, UPDATE');

CREATE CONSTRAINT TRIGGER messages_tenant_id_phone_number_id_fkey
  AFTER INSERT OR UPDATE OF tenant_id, phone_number_id ON prestabot.messages
  FOR EACH ROW EXECUTE FUNCTION prestabot.number_of_own_tenant();
CREATE CONSTRAINT TRIGGER messages_tenant_id_contact_id_fkey
  AFTER INSERT OR UPDATE OF tenant_id, contact_id ON prestabot.messages
  FOR EACH ROW EXECUTE FUNCTION prestabot.contact_of_own_tenant();
