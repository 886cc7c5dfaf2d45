-- A borrower's "I returned it" reaches the lender with "Did you get it?" buttons: a purpose of its own, so
-- its approved template can carry exactly those quick replies.
ALTER TABLE prestabot.templates DROP CONSTRAINT templates_purpose_check;
ALTER TABLE prestabot.templates
  ADD CONSTRAINT templates_purpose_check CHECK (
    purpose IN ('loan_confirmation_request', 'loan_reminder', 'loan_overdue_notice', 'loan_update', 'loan_return_claim')
  );
