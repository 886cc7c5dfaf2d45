-- Meta's view of each number (issue 12): what `prestabot numbers sync` reads from the Graph API and what
-- the account webhooks report. NULL means "not known yet": nothing is held for a limit nobody has read.
ALTER TABLE prestabot.whatsapp_numbers
  -- The business portfolio that owns the number's WABA. Since 2025-10-07 the daily messaging limit belongs
  -- to the portfolio and is shared by its numbers; NULL counts the tenant's numbers as one portfolio.
  ADD COLUMN business_portfolio_id text CHECK (business_portfolio_id ~ '^[0-9]{1,32}$'),
  -- New unique recipients reachable outside the 24-hour window in a moving 24 h; NULL when unlimited or
  -- not known (`meta_synced_at` tells which).
  ADD COLUMN messaging_limit integer CHECK (messaging_limit > 0),
  ADD COLUMN quality_rating text CHECK (quality_rating IN ('GREEN', 'YELLOW', 'RED', 'UNKNOWN')),
  -- Set by a FLAGGED quality event, cleared by UNFLAGGED: business-initiated sends slow down meanwhile.
  ADD COLUMN quality_flagged boolean NOT NULL DEFAULT false,
  ADD COLUMN throughput_level text CHECK (throughput_level IN ('STANDARD', 'HIGH', 'NOT_APPLICABLE')),
  ADD COLUMN name_status text CHECK (length(name_status) BETWEEN 1 AND 64),
  ADD COLUMN verified_name text CHECK (length(verified_name) BETWEEN 1 AND 256),
  -- The operator chose `rate_per_second` (`--rate`): a sync does not overwrite it from the throughput level.
  ADD COLUMN rate_pinned boolean NOT NULL DEFAULT false,
  ADD COLUMN meta_synced_at timestamptz;
