-- The loan tables of 0004 put to use: a loan remembers the number it was recorded on, workers claim due
-- reminders and learn what became of their messages, templates know their quick-reply buttons, and an
-- outbox message keeps the template to send instead should Meta say the 24-hour window had closed.
--
-- No repository wrote agreements, reminders or templates before this migration, so the NOT NULL column
-- and the narrower checks below meet no existing row.

-- The number a loan was recorded on: its requests, notices and reminders come from it.
ALTER TABLE prestabot.agreements
  ADD COLUMN phone_number_id text NOT NULL,
  ADD FOREIGN KEY (tenant_id, phone_number_id) REFERENCES prestabot.whatsapp_numbers (tenant_id, phone_number_id);

-- "My loans": a contact's open loans by due date, then their closed ones newest first. Each part is read
-- from a partial index already in its order, lent and borrowed alike, so a contact with years of closed
-- loans costs no more than the page they see. The status lists are the domain's isFinal. These replace
-- the plain lender and borrower indexes of 0004, which no query needs any longer.
DROP INDEX prestabot.agreements_lender;
DROP INDEX prestabot.agreements_borrower;
CREATE INDEX agreements_open_by_lender ON prestabot.agreements (tenant_id, lender_contact_id, due_date, created_at, id)
  WHERE status IN ('pending_confirmation', 'active');
CREATE INDEX agreements_open_by_borrower ON prestabot.agreements (tenant_id, borrower_contact_id, due_date, created_at, id)
  WHERE status IN ('pending_confirmation', 'active');
CREATE INDEX agreements_closed_by_lender
  ON prestabot.agreements (tenant_id, lender_contact_id, (coalesce(closed_at, created_at)) DESC, id)
  WHERE status IN ('returned', 'rejected', 'cancelled');
CREATE INDEX agreements_closed_by_borrower
  ON prestabot.agreements (tenant_id, borrower_contact_id, (coalesce(closed_at, created_at)) DESC, id)
  WHERE status IN ('returned', 'rejected', 'cancelled');
-- The loans waiting for a borrower's answer, oldest first.
CREATE INDEX agreements_awaiting_borrower ON prestabot.agreements (tenant_id, borrower_contact_id, created_at, id)
  WHERE status = 'pending_confirmation';

-- A reminder is pending until a worker turns it into a message (queued) or decides not to send it
-- (skipped, with the reason), or until it leaves the loan's plan (cancelled). What became of its message
-- afterwards is `delivery`, which only moves forward, as a message's status does.
ALTER TABLE prestabot.reminders
  DROP CONSTRAINT reminders_kind_check,
  ADD CONSTRAINT reminders_kind_check CHECK (
    kind IN ('day_before', 'due_day', 'overdue_1', 'overdue_3', 'overdue_7', 'lender_overdue_notice')
  ),
  DROP CONSTRAINT reminders_status_check,
  ADD CONSTRAINT reminders_status_check CHECK (status IN ('pending', 'queued', 'cancelled', 'skipped')),
  ADD COLUMN delivery text CHECK (delivery IN ('queued', 'accepted', 'sent', 'delivered', 'read', 'played', 'failed'));
-- The claim walks the due reminders in order and stops at its limit: the id breaks ties within the index.
DROP INDEX prestabot.reminders_due;
CREATE INDEX reminders_due ON prestabot.reminders (scheduled_at, id) WHERE status = 'pending';

-- A template is registered by purpose and language; its surrogate id is the database's to choose.
ALTER TABLE prestabot.templates
  ALTER COLUMN id SET DEFAULT gen_random_uuid(),
  ADD CONSTRAINT templates_purpose_check CHECK (
    purpose IN ('loan_confirmation_request', 'loan_reminder', 'loan_overdue_notice', 'loan_update')
  ),
  -- The quick-reply buttons in order, each the name of an action on the loan the message is about.
  ADD COLUMN quick_replies jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(quick_replies) = 'array');

-- The approved template to send instead of `message` if Meta says the 24-hour window had closed (131047).
ALTER TABLE prestabot.outbox ADD COLUMN fallback jsonb;

-- Leases due reminders of any tenant, the earliest first. A reminder under a live lease is being turned
-- into a message by another worker; one whose lease ran out is due again.
CREATE FUNCTION prestabot.claim_reminders(p_owner text, p_limit integer, p_lease_ms integer, p_now timestamptz)
RETURNS SETOF prestabot.reminders
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY
    WITH chosen AS (
      SELECT r.id
      FROM prestabot.reminders r
      WHERE r.status = 'pending'
        AND r.scheduled_at <= p_now
        AND (r.leased_until IS NULL OR r.leased_until <= p_now)
      ORDER BY r.scheduled_at, r.id
      LIMIT p_limit
      FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE prestabot.reminders r
      SET lease_owner = p_owner,
          leased_until = p_now + p_lease_ms * interval '1 millisecond'
      FROM chosen
      WHERE r.id = chosen.id
      RETURNING r.*
    )
    SELECT * FROM claimed ORDER BY scheduled_at, id;
END
$$;

REVOKE ALL ON FUNCTION prestabot.claim_reminders(text, integer, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prestabot.claim_reminders(text, integer, integer, timestamptz) TO prestabot_app;
