-- The 24-hour customer service window per (number, contact) is all an inbound message was logged for:
-- nothing read an inbound row but the latest timestamp of its pair. A row per inbound message, kept
-- forever, cost each message an insert with two index entries and two foreign-key locks (about 0.9 KB of
-- WAL of the 7 KB a message cost); one row per pair, moved forward in place (a HOT update: no indexed
-- column changes), costs a returning contact about 0.15 KB and keeps the table as small as the pairs.
CREATE TABLE prestabot.customer_service_windows (
  tenant_id uuid NOT NULL DEFAULT prestabot.prestabot_current_tenant(),
  phone_number_id text NOT NULL,
  contact_id uuid NOT NULL,
  -- The latest inbound message's WhatsApp timestamp: the window is open for 24 hours after it.
  last_inbound_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, phone_number_id, contact_id),
  FOREIGN KEY (tenant_id, phone_number_id) REFERENCES prestabot.whatsapp_numbers (tenant_id, phone_number_id),
  FOREIGN KEY (tenant_id, contact_id) REFERENCES prestabot.contacts (tenant_id, id)
);
-- The window is written only while the row is HOT-updatable: room on its page for the next version.
ALTER TABLE prestabot.customer_service_windows SET (fillfactor = 80);
CALL prestabot.isolate_tenant_table('prestabot.customer_service_windows', 'SELECT, INSERT, UPDATE');

INSERT INTO prestabot.customer_service_windows (tenant_id, phone_number_id, contact_id, last_inbound_at)
SELECT m.tenant_id, m.phone_number_id, m.contact_id, max(m.sent_at)
FROM prestabot.messages m
WHERE m.direction = 'inbound'
GROUP BY m.tenant_id, m.phone_number_id, m.contact_id;

-- The windows above hold everything the inbound rows were read for; the message log keeps outbound
-- messages and their statuses. Inbound rows stay allowed (sent_at and the checks' inbound branch too):
-- a process of the version before, still running during a rolling upgrade, writes them, and must not fail
-- its messages for it. Nothing reads them any more.
DELETE FROM prestabot.messages WHERE direction = 'inbound';
DROP INDEX prestabot.messages_last_inbound;
