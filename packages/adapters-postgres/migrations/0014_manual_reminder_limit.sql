-- When the lender last reminded a borrower by hand: the next manual reminder waits a day (issue 15).
ALTER TABLE prestabot.agreements ADD COLUMN last_reminded_at timestamptz;
