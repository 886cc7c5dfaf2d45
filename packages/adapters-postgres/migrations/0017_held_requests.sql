-- A loan's request the bot could not send (the person opted out, or is outside the 24-hour window and the
-- tenant has no approved template) is held until the person it asks writes: the bot then shows it to them
-- and tells the other party once. Set when held, cleared when taken or when the loan changes. The table's
-- row-level security and grants (0004) cover the new column.
ALTER TABLE prestabot.agreements ADD COLUMN request_held_at timestamptz;

-- Every message that reaches the bot's menu looks for held requests; few loans ever have one.
CREATE INDEX agreements_held_requests ON prestabot.agreements (tenant_id, request_held_at)
  WHERE request_held_at IS NOT NULL;
