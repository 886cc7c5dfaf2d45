-- Meta's messaging limit and quality (issue 12): business-initiated sends (templates: the bot only sends one
-- outside the person's 24-hour window) reach new recipients, and a business portfolio may reach only so many
-- in a moving 24 hours (`whatsapp_numbers.messaging_limit`, shared by the portfolio's numbers). A claim holds
-- what would go past it instead of letting Meta refuse it, and releases it, in priority order, as the window
-- moves. A number whose quality is low or flagged sends business-initiated messages more slowly.

-- The first moment the limit held the message (kept once it goes: a send with it set was released).
ALTER TABLE prestabot.outbox ADD COLUMN limit_held_at timestamptz;

-- The earliest moment a number's next business-initiated send may go, when its quality slows them.
ALTER TABLE prestabot.number_send_pacing ADD COLUMN business_next_free_at timestamptz;

-- The recipients each portfolio reached with a business-initiated send, each counted until `counts_until`:
-- 24 hours after the latest moment Meta could have accepted that send (its lease, plus the outcome grace).
-- Only portfolios with a known limit are counted: nothing is held for a limit nobody has read.
CREATE TABLE prestabot.portfolio_reach (
  portfolio_key text NOT NULL,
  recipient_key text NOT NULL,
  counts_until timestamptz NOT NULL,
  PRIMARY KEY (portfolio_key, recipient_key)
);
CREATE INDEX portfolio_reach_expiry ON prestabot.portfolio_reach (portfolio_key, counts_until);
CALL prestabot.close_deployment_table('prestabot.portfolio_reach');

-- How many rows each portfolio has in portfolio_reach: a claim reads one row, not a count of up to 100,000.
-- Kept exact under the portfolio's lock (within_messaging_limits): expired rows leave, new ones arrive.
CREATE TABLE prestabot.portfolio_reach_counts (
  portfolio_key text PRIMARY KEY,
  reached integer NOT NULL CHECK (reached >= 0)
);
CALL prestabot.close_deployment_table('prestabot.portfolio_reach_counts');

-- The portfolio a number's limit belongs to; a number not synced yet counts with its tenant's numbers.
-- No SET clause: inlined where it is called.
CREATE FUNCTION prestabot.portfolio_key(p_business_portfolio_id text, p_tenant_id uuid) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce('portfolio:' || p_business_portfolio_id, 'tenant:' || p_tenant_id::text) $$;

-- The moving window of the messaging limit. `messagingWindowMs` in the domain is the same number.
CREATE FUNCTION prestabot.messaging_window() RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT interval '24 hours' $$;

-- The share of a number's rate its business-initiated sends may use: all of it while its quality is good,
-- an eighth at medium (YELLOW), an eightieth (one a second at 80/s) at low (RED) or once Meta flagged or
-- downgraded it. `businessPaceShare` in the domain is the same rule; the outbox contract suite pins both.
CREATE FUNCTION prestabot.business_pace_share(p_quality_rating text, p_quality_flagged boolean)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN p_quality_flagged OR p_quality_rating = 'RED' THEN 1.0 / 80
              WHEN p_quality_rating = 'YELLOW' THEN 1.0 / 8
              ELSE 1.0 END
$$;

-- A business-initiated message: one the messaging limit counts.
CREATE FUNCTION prestabot.is_business_initiated(p_message jsonb, p_recipient_key text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT p_recipient_key IS NOT NULL AND p_message ->> 'type' = 'template' $$;

REVOKE ALL ON FUNCTION prestabot.portfolio_key(text, uuid), prestabot.messaging_window(),
  prestabot.business_pace_share(text, boolean), prestabot.is_business_initiated(jsonb, text) FROM PUBLIC;

-- Of the messages a claim picked (`p_ids`, in the claim's order), those the messaging limits let go now.
-- A business-initiated message to a recipient its portfolio has not reached in the window spends one of the
-- limit's recipients; one past the limit is held: it waits (`available_at`) until the portfolio's earliest
-- reach expires, when a claim looks at it again among whatever else is due, by priority. Each portfolio
-- is locked until the end of the transaction, in key order, so two claimers never wait on each other in a
-- cycle and never spend the same recipient twice; `record_reach` counts what was then leased. Internal.
CREATE FUNCTION prestabot.within_messaging_limits(p_ids uuid[], p_now timestamptz)
RETURNS uuid[]
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  limited record;
  candidate record;
  portfolio_keys text[] := '{}';
  portfolio_room integer[] := '{}';
  spent text[] := '{}';
  position integer;
  held_ids uuid[] := '{}';
  held_portfolios text[] := '{}';
BEGIN
  FOR limited IN
    SELECT DISTINCT prestabot.portfolio_key(n.business_portfolio_id, n.tenant_id) AS portfolio_key
    FROM prestabot.outbox o
    JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = o.phone_number_id
    WHERE o.id = ANY (p_ids) AND n.messaging_limit IS NOT NULL
      AND prestabot.is_business_initiated(o.message, o.recipient_key)
    ORDER BY 1
  LOOP
    PERFORM pg_advisory_xact_lock(hashtextextended(limited.portfolio_key, 1658204));
    WITH expired AS (
      DELETE FROM prestabot.portfolio_reach r
      WHERE r.portfolio_key = limited.portfolio_key AND r.counts_until <= p_now
      RETURNING 1
    )
    UPDATE prestabot.portfolio_reach_counts c
    SET reached = c.reached - (SELECT count(*) FROM expired)
    WHERE c.portfolio_key = limited.portfolio_key;
    portfolio_keys := portfolio_keys || limited.portfolio_key;
    portfolio_room := portfolio_room || coalesce(
      (SELECT -c.reached FROM prestabot.portfolio_reach_counts c WHERE c.portfolio_key = limited.portfolio_key), 0);
  END LOOP;
  IF cardinality(portfolio_keys) = 0 THEN
    RETURN p_ids;
  END IF;

  FOR candidate IN
    SELECT o.id, o.recipient_key, n.messaging_limit,
           prestabot.portfolio_key(n.business_portfolio_id, n.tenant_id) AS portfolio_key,
           EXISTS (
             SELECT 1 FROM prestabot.portfolio_reach r
             WHERE r.portfolio_key = prestabot.portfolio_key(n.business_portfolio_id, n.tenant_id)
               AND r.recipient_key = o.recipient_key) AS reached
    FROM unnest(p_ids) WITH ORDINALITY AS picked (id, ordinal)
    JOIN prestabot.outbox o ON o.id = picked.id
    JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = o.phone_number_id
    WHERE n.messaging_limit IS NOT NULL AND prestabot.is_business_initiated(o.message, o.recipient_key)
    ORDER BY picked.ordinal
  LOOP
    CONTINUE WHEN candidate.reached OR candidate.portfolio_key || '|' || candidate.recipient_key = ANY (spent);
    position := array_position(portfolio_keys, candidate.portfolio_key);
    -- `portfolio_room` holds minus what the portfolio has spent; each number may carry its own limit.
    IF candidate.messaging_limit + portfolio_room[position] > 0 THEN
      portfolio_room[position] := portfolio_room[position] - 1;
      spent := spent || (candidate.portfolio_key || '|' || candidate.recipient_key);
    ELSE
      held_ids := held_ids || candidate.id;
      held_portfolios := held_portfolios || candidate.portfolio_key;
    END IF;
  END LOOP;

  UPDATE prestabot.outbox o
  SET available_at = coalesce(
        (SELECT min(r.counts_until) FROM prestabot.portfolio_reach r WHERE r.portfolio_key = held.portfolio_key),
        p_now + prestabot.messaging_window()),
      limit_held_at = coalesce(o.limit_held_at, p_now)
  FROM unnest(held_ids, held_portfolios) AS held (id, portfolio_key)
  WHERE o.id = held.id;

  -- A portfolio with no room left holds every due message that would spend some, not only those picked:
  -- all wait alike (none grows stale unlooked-at), and later claims need not read them again. Those
  -- picked here and let go are leased next; those to recipients reached or spent here cost nothing.
  UPDATE prestabot.outbox o
  SET available_at = coalesce(
        (SELECT min(r.counts_until) FROM prestabot.portfolio_reach r WHERE r.portfolio_key = exhausted.portfolio_key),
        p_now + prestabot.messaging_window()),
      limit_held_at = coalesce(o.limit_held_at, p_now)
  FROM (SELECT DISTINCT unnest(held_portfolios) AS portfolio_key) exhausted
  JOIN prestabot.whatsapp_numbers n
    ON prestabot.portfolio_key(n.business_portfolio_id, n.tenant_id) = exhausted.portfolio_key
  WHERE o.phone_number_id = n.phone_number_id AND o.status = 'pending' AND n.messaging_limit IS NOT NULL
    AND prestabot.is_business_initiated(o.message, o.recipient_key)
    AND o.available_at <= p_now
    AND (o.leased_until IS NULL OR o.leased_until + prestabot.outcome_grace() <= p_now)
    AND o.id <> ALL (p_ids)
    AND exhausted.portfolio_key || '|' || o.recipient_key <> ALL (spent)
    AND NOT EXISTS (
      SELECT 1 FROM prestabot.portfolio_reach r
      WHERE r.portfolio_key = exhausted.portfolio_key AND r.recipient_key = o.recipient_key);

  RETURN ARRAY(
    SELECT picked.id FROM unnest(p_ids) WITH ORDINALITY AS picked (id, ordinal)
    WHERE picked.id <> ALL (held_ids)
    ORDER BY picked.ordinal);
END
$$;

-- Counts the recipients that the business-initiated sends just leased reach (under the locks
-- within_messaging_limits took), each until 24 hours after Meta could last have accepted the send.
-- Internal.
CREATE FUNCTION prestabot.record_reach(p_ids uuid[])
RETURNS void
LANGUAGE sql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
  WITH reached AS (
    INSERT INTO prestabot.portfolio_reach AS r (portfolio_key, recipient_key, counts_until)
    SELECT DISTINCT ON (1, 2) prestabot.portfolio_key(n.business_portfolio_id, n.tenant_id), o.recipient_key,
           o.leased_until + prestabot.outcome_grace() + prestabot.messaging_window()
    FROM prestabot.outbox o
    JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = o.phone_number_id
    WHERE o.id = ANY (p_ids) AND n.messaging_limit IS NOT NULL
      AND prestabot.is_business_initiated(o.message, o.recipient_key)
    ORDER BY 1, 2, 3 DESC
    ON CONFLICT (portfolio_key, recipient_key) DO UPDATE SET counts_until = greatest(r.counts_until, excluded.counts_until)
    -- xmax is 0 on a row this statement inserted, and set on one it updated.
    RETURNING r.portfolio_key, r.xmax = 0 AS inserted
  )
  INSERT INTO prestabot.portfolio_reach_counts AS c (portfolio_key, reached)
  SELECT reached.portfolio_key, count(*) FILTER (WHERE reached.inserted) FROM reached GROUP BY reached.portfolio_key
  ON CONFLICT (portfolio_key) DO UPDATE SET reached = c.reached + excluded.reached
$$;

REVOKE ALL ON FUNCTION prestabot.within_messaging_limits(uuid[], timestamptz), prestabot.record_reach(uuid[])
  FROM PUBLIC;

-- A notice about to be queued for `p_recipient_key` outside their window: how many more new recipients the
-- number's portfolio may reach before it would be held, counting the messages already held; NULL when it
-- would not be held at all (no limit known, or the recipient is reached already). The person who asked
-- for it is told once, when it is queued, that it waits behind the daily limit. Scoped: the tenant's own
-- number only.
CREATE FUNCTION prestabot.messaging_limit_room(p_phone_number_id text, p_recipient_key text, p_now timestamptz)
RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT n.messaging_limit
         - (SELECT count(*) FROM prestabot.portfolio_reach r
            WHERE r.portfolio_key = portfolio.key AND r.counts_until > p_now)::integer
         - (SELECT count(*) FROM prestabot.outbox o
            JOIN prestabot.whatsapp_numbers held_by ON held_by.phone_number_id = o.phone_number_id
            WHERE o.status = 'pending' AND o.limit_held_at IS NOT NULL
              AND prestabot.portfolio_key(held_by.business_portfolio_id, held_by.tenant_id) = portfolio.key)::integer
  FROM prestabot.whatsapp_numbers n
  CROSS JOIN LATERAL (SELECT prestabot.portfolio_key(n.business_portfolio_id, n.tenant_id) AS key) portfolio
  WHERE n.phone_number_id = p_phone_number_id AND n.tenant_id = prestabot.prestabot_current_tenant()
    AND n.messaging_limit IS NOT NULL
    AND NOT EXISTS (
      SELECT 1 FROM prestabot.portfolio_reach r
      WHERE r.portfolio_key = portfolio.key AND r.recipient_key = p_recipient_key AND r.counts_until > p_now)
$$;
REVOKE ALL ON FUNCTION prestabot.messaging_limit_room(text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prestabot.messaging_limit_room(text, text, timestamptz) TO prestabot_app;

-- Held messages go out once there is room: at once when the limit is raised (or no longer known), as due as
-- when they were first held; otherwise as the window moves.
CREATE FUNCTION prestabot.release_held_on_raised_limit() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  UPDATE prestabot.outbox o
  SET available_at = o.limit_held_at
  WHERE o.phone_number_id = NEW.phone_number_id AND o.status = 'pending' AND o.limit_held_at IS NOT NULL
    AND o.available_at > o.limit_held_at;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION prestabot.release_held_on_raised_limit() FROM PUBLIC;
CREATE TRIGGER release_held_on_raised_limit
AFTER UPDATE OF messaging_limit ON prestabot.whatsapp_numbers
FOR EACH ROW
WHEN (NEW.messaging_limit IS NULL AND OLD.messaging_limit IS NOT NULL OR NEW.messaging_limit > OLD.messaging_limit)
EXECUTE FUNCTION prestabot.release_held_on_raised_limit();

-- What the operator and the metrics see: messages due, and those the limit holds.
DROP FUNCTION prestabot.outbox_depth(timestamptz);
CREATE FUNCTION prestabot.outbox_depth(p_now timestamptz)
RETURNS TABLE (pending integer, oldest_at timestamptz, held integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM prestabot.assert_unscoped();
  RETURN QUERY
    SELECT (count(*) FILTER (WHERE o.available_at <= p_now))::integer,
           min(o.available_at) FILTER (WHERE o.available_at <= p_now),
           (count(*) FILTER (WHERE o.limit_held_at IS NOT NULL AND o.available_at > p_now))::integer
    FROM prestabot.outbox o
    WHERE o.status = 'pending';
END
$$;
REVOKE ALL ON FUNCTION prestabot.outbox_depth(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prestabot.outbox_depth(timestamptz) TO prestabot_app;

-- A claimed send says whether the limit held it (a release, counted by the metrics).
ALTER TYPE prestabot.claimed_send ADD ATTRIBUTE limit_held_at timestamptz;
CREATE OR REPLACE FUNCTION prestabot.claimed_sends(p_ids uuid[]) RETURNS SETOF prestabot.claimed_send
LANGUAGE sql STABLE
AS $$
  SELECT o.id, o.tenant_id, o.phone_number_id, o.recipient, o.contact_id, o.message, o.fallback, o.reply_to,
         o.origin, o.idempotency_key, o.priority, o.status, o.attempts, o.not_before, o.created_at, o.wamid,
         o.last_failure, o.lease_owner, o.leased_until, o.send_at, o.slot_misses,
         n.token_state, n.token_key_id, n.token_ciphertext, n.token_length, o.limit_held_at
  FROM prestabot.outbox o
  JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = o.phone_number_id
  WHERE o.id = ANY (p_ids)
  ORDER BY o.send_at, o.phone_number_id
$$;

-- The claim of 0013 under the messaging limits: the messages it picks pass within_messaging_limits, and a
-- number whose quality slows its business-initiated sends gets at most one of them per its slower spacing.
CREATE OR REPLACE FUNCTION prestabot.claim_outbox_rows(
  p_owner text, p_limit integer, p_lease_ms integer, p_now timestamptz, p_horizon_ms integer, p_rate_share double precision
)
RETURNS SETOF prestabot.outbox
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  now_ms constant double precision := (extract(epoch FROM p_now) * 1000)::double precision;
  horizon_ms constant double precision := now_ms + p_horizon_ms;
  busy_numbers text[];
  lane_numbers text[];
  lane_starts double precision[];
  lane_spacings double precision[];
  lane_capacities integer[];
  -- Per lane: when its next business-initiated send may go, and their spacing; NULL where quality slows none.
  lane_business_starts double precision[];
  lane_business_spacings double precision[];
  allowed_ids uuid[];
  heads_per_number integer;
  picked_ids uuid[];
  picked_numbers text[];
  picked_count integer;
  some_lane_cut boolean;
  chosen record;
  current_number text;
  next_ms double precision;
  slot_spacing_ms double precision;
  business_next_ms double precision;
  business_spacing_ms double precision;
  paced_business_next timestamptz[] := '{}';
  paced_numbers text[] := '{}';
  paced_next_free timestamptz[] := '{}';
  send_ids uuid[] := '{}';
  send_slots timestamptz[] := '{}';
BEGIN
  PERFORM prestabot.assert_unscoped();

  -- Numbers with queued messages, found by a loose index scan: one index probe per such number.
  WITH RECURSIVE busy (phone_number_id) AS (
    (SELECT o.phone_number_id FROM prestabot.outbox o WHERE o.status = 'pending' ORDER BY o.phone_number_id LIMIT 1)
    UNION ALL
    SELECT (SELECT o.phone_number_id FROM prestabot.outbox o
            WHERE o.status = 'pending' AND o.phone_number_id > busy.phone_number_id
            ORDER BY o.phone_number_id LIMIT 1)
    FROM busy
    WHERE busy.phone_number_id IS NOT NULL
  )
  SELECT coalesce(array_agg(busy.phone_number_id), '{}') INTO busy_numbers
  FROM busy WHERE busy.phone_number_id IS NOT NULL;

  -- A pacing row must exist before it can be locked.
  INSERT INTO prestabot.number_send_pacing (phone_number_id)
  SELECT unnest(busy_numbers)
  ON CONFLICT DO NOTHING;

  -- Each number's pacing row stays locked while its slots are placed. A number another process is
  -- claiming right now is skipped (it is being served): no two processes place slots for one number.
  -- Its capacity is one more than the quotient says: the quotient is rounded, the slot loop below is
  -- exact, and a message it gives no slot is simply not leased.
  SELECT coalesce(array_agg(lane.phone_number_id ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.start_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.spacing_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(
           CASE WHEN lane.start_ms > horizon_ms THEN 0
                ELSE least(p_limit, floor((horizon_ms - lane.start_ms) / lane.spacing_ms)::integer + 2)
           END ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.business_start_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.business_spacing_ms ORDER BY lane.phone_number_id), '{}')
  INTO lane_numbers, lane_starts, lane_spacings, lane_capacities, lane_business_starts, lane_business_spacings
  FROM (
    SELECT p.phone_number_id,
           greatest(now_ms, coalesce((extract(epoch FROM p.next_free_at) * 1000)::double precision, now_ms)) AS start_ms,
           1000 / (n.rate_per_second * p_rate_share) AS spacing_ms,
           CASE WHEN prestabot.business_pace_share(n.quality_rating, n.quality_flagged) < 1 THEN
             greatest(now_ms, coalesce((extract(epoch FROM p.business_next_free_at) * 1000)::double precision, now_ms))
           END AS business_start_ms,
           CASE WHEN prestabot.business_pace_share(n.quality_rating, n.quality_flagged) < 1 THEN
             1000 / (n.rate_per_second * p_rate_share * prestabot.business_pace_share(n.quality_rating, n.quality_flagged))
           END AS business_spacing_ms
    FROM prestabot.number_send_pacing p
    JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = p.phone_number_id
    WHERE p.phone_number_id = ANY (busy_numbers) AND n.token_invalid_at IS NULL
    ORDER BY p.phone_number_id
    FOR UPDATE OF p SKIP LOCKED
  ) lane;

  -- Round robin: every number's first message, then every number's second, …; within a turn, numbers in
  -- the order of their first message. Each number's list is read only as deep as the turns can reach:
  -- first a fair share of the limit; deeper (×4) while the lists hold fewer than the limit and some list
  -- was cut. Once they hold at least the limit, the first `limit` turns are all within them.
  heads_per_number := greatest(1, ceil(p_limit::numeric / greatest(cardinality(lane_numbers), 1))::integer);
  LOOP
    SELECT coalesce(array_agg(heads.id ORDER BY heads.turn, heads.first_priority DESC, heads.first_available_at,
                                                heads.first_created_at, heads.first_id), '{}'),
           coalesce(array_agg(heads.phone_number_id ORDER BY heads.turn, heads.first_priority DESC,
                                                heads.first_available_at, heads.first_created_at, heads.first_id), '{}'),
           count(*),
           coalesce(bool_or(heads.cut), false)
    INTO picked_ids, picked_numbers, picked_count, some_lane_cut
    FROM (
      SELECT queue.*,
             first_value(queue.priority) OVER lane_queue AS first_priority,
             first_value(queue.available_at) OVER lane_queue AS first_available_at,
             first_value(queue.created_at) OVER lane_queue AS first_created_at,
             first_value(queue.id) OVER lane_queue AS first_id,
             count(*) OVER (PARTITION BY queue.phone_number_id) = queue.depth AND queue.depth < queue.capacity AS cut
      FROM (
        SELECT lane.phone_number_id, lane.capacity, least(lane.capacity, heads_per_number) AS depth,
               o.id, o.priority, o.available_at, o.created_at,
               row_number() OVER (PARTITION BY lane.phone_number_id
                                  ORDER BY o.priority DESC, o.available_at, o.created_at, o.id) AS turn
        FROM unnest(lane_numbers, lane_capacities, lane_business_starts)
               AS lane (phone_number_id, capacity, business_start_ms)
        CROSS JOIN LATERAL (
          -- The number's sendable messages in send order, the first per recipient only.
          SELECT o.id, o.priority, o.available_at, o.created_at
          FROM prestabot.outbox o
          WHERE o.phone_number_id = lane.phone_number_id
            AND o.status = 'pending'
            AND o.available_at <= p_now
            AND (o.leased_until IS NULL OR o.leased_until + prestabot.outcome_grace() <= p_now)
            -- A business-initiated message of a slowed number waits for the number's next business slot.
            AND (lane.business_start_ms IS NULL OR lane.business_start_ms <= now_ms
                 OR NOT prestabot.is_business_initiated(o.message, o.recipient_key))
            AND NOT EXISTS (
              SELECT 1 FROM prestabot.outbox_recipient_holds h
              WHERE h.phone_number_id = o.phone_number_id AND h.recipient_key = o.recipient_key AND h.until > p_now)
            -- One probe of the recipient's pending messages: one of them in flight, or one ahead of this one.
            AND NOT EXISTS (
              SELECT 1 FROM prestabot.outbox e
              WHERE e.phone_number_id = o.phone_number_id AND e.recipient_key = o.recipient_key
                AND e.status = 'pending' AND e.id <> o.id
                AND (e.leased_until + prestabot.outcome_grace() > p_now
                     OR (e.available_at <= p_now
                         AND (e.priority > o.priority
                              OR (e.priority = o.priority
                                  AND (e.available_at, e.created_at, e.id) < (o.available_at, o.created_at, o.id))))))
          ORDER BY o.priority DESC, o.available_at, o.created_at, o.id
          LIMIT least(lane.capacity, heads_per_number)
        ) o
      ) queue
      WINDOW lane_queue AS (PARTITION BY queue.phone_number_id ORDER BY queue.turn)
    ) heads;
    EXIT WHEN picked_count >= p_limit OR NOT some_lane_cut;
    heads_per_number := heads_per_number * 4;
  END LOOP;

  allowed_ids := prestabot.within_messaging_limits(picked_ids[1:p_limit], p_now);

  FOR chosen IN
    SELECT picked.id, picked.phone_number_id, lane.start_ms, lane.spacing_ms, lane.business_start_ms,
           lane.business_spacing_ms, prestabot.is_business_initiated(o.message, o.recipient_key) AS business
    FROM unnest(picked_ids[1:p_limit], picked_numbers[1:p_limit]) WITH ORDINALITY AS picked (id, phone_number_id, position)
    JOIN unnest(lane_numbers, lane_starts, lane_spacings, lane_business_starts, lane_business_spacings)
      AS lane (phone_number_id, start_ms, spacing_ms, business_start_ms, business_spacing_ms)
      ON lane.phone_number_id = picked.phone_number_id
    -- A message whose send is being recorded right now is left for a later claim.
    JOIN prestabot.outbox o ON o.id = picked.id
    WHERE picked.id = ANY (allowed_ids)
      AND o.status = 'pending' AND (o.leased_until IS NULL OR o.leased_until + prestabot.outcome_grace() <= p_now)
    ORDER BY picked.phone_number_id, picked.position
    FOR UPDATE OF o SKIP LOCKED
  LOOP
    IF current_number IS DISTINCT FROM chosen.phone_number_id THEN
      IF current_number IS NOT NULL THEN
        paced_numbers := paced_numbers || current_number;
        paced_next_free := paced_next_free || to_timestamp(ceil(next_ms) / 1000);
        paced_business_next := paced_business_next || to_timestamp(ceil(business_next_ms) / 1000);
      END IF;
      current_number := chosen.phone_number_id;
      next_ms := chosen.start_ms;
      slot_spacing_ms := chosen.spacing_ms;
      business_next_ms := chosen.business_start_ms;
      business_spacing_ms := chosen.business_spacing_ms;
    END IF;
    -- A slowed number's later business-initiated messages wait for a later claim.
    CONTINUE WHEN chosen.business AND business_next_ms > next_ms;
    IF next_ms <= horizon_ms THEN
      send_ids := send_ids || chosen.id;
      send_slots := send_slots || to_timestamp(ceil(next_ms) / 1000);
      IF chosen.business AND business_spacing_ms IS NOT NULL THEN
        business_next_ms := next_ms + business_spacing_ms;
      END IF;
      next_ms := next_ms + slot_spacing_ms;
    END IF;
  END LOOP;
  IF current_number IS NOT NULL THEN
    -- Rounded up, as placeSendSlots does: rounding down would let many small claims creep above the rate.
    paced_numbers := paced_numbers || current_number;
    paced_next_free := paced_next_free || to_timestamp(ceil(next_ms) / 1000);
    paced_business_next := paced_business_next || to_timestamp(ceil(business_next_ms) / 1000);
  END IF;

  UPDATE prestabot.number_send_pacing p
  SET next_free_at = paced.next_free_at, business_next_free_at = coalesce(paced.business_next, p.business_next_free_at)
  FROM unnest(paced_numbers, paced_next_free, paced_business_next) AS paced (phone_number_id, next_free_at, business_next)
  WHERE p.phone_number_id = paced.phone_number_id;

  UPDATE prestabot.outbox o
  SET lease_owner = p_owner,
      send_at = slot.send_at,
      leased_until = slot.send_at + p_lease_ms * interval '1 millisecond'
  FROM unnest(send_ids, send_slots) AS slot (id, send_at)
  WHERE o.id = slot.id;
  PERFORM prestabot.record_reach(send_ids);

  RETURN QUERY SELECT * FROM prestabot.outbox o WHERE o.id = ANY (send_ids) ORDER BY o.send_at, o.phone_number_id;
END
$$;

-- lease_sends of 0013 under the messaging limits, as the claim above: the messages it would lease pass
-- within_messaging_limits, and a slowed number leases at most one business-initiated message per spacing.
CREATE OR REPLACE FUNCTION prestabot.lease_sends(
  p_ids uuid[], p_owner text, p_lease_ms integer, p_now timestamptz, p_horizon_ms integer, p_rate_share double precision
)
RETURNS SETOF prestabot.claimed_send
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- As apply_status_batch: rows reached by their keys, never a scan of a growing table, planned once.
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  now_ms constant double precision := (extract(epoch FROM p_now) * 1000)::double precision;
  horizon_ms constant double precision := now_ms + p_horizon_ms;
  lane_numbers text[];
  lane_starts double precision[];
  lane_spacings double precision[];
  lane_business_starts double precision[];
  lane_business_spacings double precision[];
  candidate_ids uuid[];
  allowed_ids uuid[];
  chosen record;
  current_number text;
  next_ms double precision;
  business_next_ms double precision;
  paced_numbers text[] := '{}';
  paced_next_free timestamptz[] := '{}';
  paced_business_next timestamptz[] := '{}';
  send_ids uuid[] := '{}';
  send_slots timestamptz[] := '{}';
BEGIN
  PERFORM prestabot.assert_unscoped();
  INSERT INTO prestabot.number_send_pacing (phone_number_id)
  SELECT DISTINCT o.phone_number_id FROM prestabot.outbox o WHERE o.id = ANY (p_ids)
  ON CONFLICT DO NOTHING;

  SELECT coalesce(array_agg(lane.phone_number_id ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.start_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.spacing_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.business_start_ms ORDER BY lane.phone_number_id), '{}'),
         coalesce(array_agg(lane.business_spacing_ms ORDER BY lane.phone_number_id), '{}')
  INTO lane_numbers, lane_starts, lane_spacings, lane_business_starts, lane_business_spacings
  FROM (
    SELECT p.phone_number_id,
           greatest(now_ms, coalesce((extract(epoch FROM p.next_free_at) * 1000)::double precision, now_ms)) AS start_ms,
           1000 / (n.rate_per_second * p_rate_share) AS spacing_ms,
           CASE WHEN prestabot.business_pace_share(n.quality_rating, n.quality_flagged) < 1 THEN
             greatest(now_ms, coalesce((extract(epoch FROM p.business_next_free_at) * 1000)::double precision, now_ms))
           END AS business_start_ms,
           CASE WHEN prestabot.business_pace_share(n.quality_rating, n.quality_flagged) < 1 THEN
             1000 / (n.rate_per_second * p_rate_share * prestabot.business_pace_share(n.quality_rating, n.quality_flagged))
           END AS business_spacing_ms
    FROM prestabot.number_send_pacing p
    JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = p.phone_number_id
    WHERE p.phone_number_id IN (SELECT o.phone_number_id FROM prestabot.outbox o WHERE o.id = ANY (p_ids))
      AND n.token_invalid_at IS NULL
    ORDER BY p.phone_number_id
    FOR UPDATE OF p SKIP LOCKED
  ) lane;

  SELECT coalesce(array_agg(candidate.id ORDER BY candidate.phone_number_id, candidate.priority DESC,
                            candidate.available_at, candidate.created_at, candidate.id), '{}')
  INTO candidate_ids
  FROM (
    SELECT o.id, o.phone_number_id, o.priority, o.available_at, o.created_at
    FROM prestabot.outbox o
    JOIN unnest(lane_numbers, lane_business_starts) AS lane (phone_number_id, business_start_ms)
      ON lane.phone_number_id = o.phone_number_id
    WHERE o.id = ANY (p_ids)
      AND o.status = 'pending'
      AND o.available_at <= p_now
      AND (o.leased_until IS NULL OR o.leased_until + prestabot.outcome_grace() <= p_now)
      AND (lane.business_start_ms IS NULL OR lane.business_start_ms <= now_ms
           OR NOT prestabot.is_business_initiated(o.message, o.recipient_key))
      AND NOT EXISTS (
        SELECT 1 FROM prestabot.outbox_recipient_holds h
        WHERE h.phone_number_id = o.phone_number_id AND h.recipient_key = o.recipient_key AND h.until > p_now)
      AND NOT EXISTS (
        SELECT 1 FROM prestabot.outbox e
        WHERE e.phone_number_id = o.phone_number_id AND e.recipient_key = o.recipient_key
          AND e.status = 'pending' AND e.id <> o.id
          AND (e.leased_until + prestabot.outcome_grace() > p_now
               OR (e.available_at <= p_now
                   AND (e.priority > o.priority
                        OR (e.priority = o.priority
                            AND (e.available_at, e.created_at, e.id) < (o.available_at, o.created_at, o.id))))))
    FOR UPDATE OF o SKIP LOCKED
  ) candidate;

  allowed_ids := prestabot.within_messaging_limits(candidate_ids, p_now);

  FOR chosen IN
    SELECT o.id, o.phone_number_id, lane.start_ms, lane.spacing_ms, lane.business_start_ms,
           lane.business_spacing_ms, prestabot.is_business_initiated(o.message, o.recipient_key) AS business
    FROM unnest(allowed_ids) WITH ORDINALITY AS allowed (id, ordinal)
    JOIN prestabot.outbox o ON o.id = allowed.id
    JOIN unnest(lane_numbers, lane_starts, lane_spacings, lane_business_starts, lane_business_spacings)
      AS lane (phone_number_id, start_ms, spacing_ms, business_start_ms, business_spacing_ms)
      ON lane.phone_number_id = o.phone_number_id
    WHERE o.id = ANY (allowed_ids)
    ORDER BY allowed.ordinal
  LOOP
    IF current_number IS DISTINCT FROM chosen.phone_number_id THEN
      IF current_number IS NOT NULL THEN
        paced_numbers := paced_numbers || current_number;
        paced_next_free := paced_next_free || to_timestamp(ceil(next_ms) / 1000);
        paced_business_next := paced_business_next || to_timestamp(ceil(business_next_ms) / 1000);
      END IF;
      current_number := chosen.phone_number_id;
      next_ms := chosen.start_ms;
      business_next_ms := chosen.business_start_ms;
    END IF;
    CONTINUE WHEN chosen.business AND business_next_ms > next_ms;
    IF next_ms <= horizon_ms THEN
      send_ids := send_ids || chosen.id;
      send_slots := send_slots || to_timestamp(ceil(next_ms) / 1000);
      IF chosen.business AND chosen.business_spacing_ms IS NOT NULL THEN
        business_next_ms := next_ms + chosen.business_spacing_ms;
      END IF;
      next_ms := next_ms + chosen.spacing_ms;
    END IF;
  END LOOP;
  IF current_number IS NOT NULL THEN
    paced_numbers := paced_numbers || current_number;
    paced_next_free := paced_next_free || to_timestamp(ceil(next_ms) / 1000);
    paced_business_next := paced_business_next || to_timestamp(ceil(business_next_ms) / 1000);
  END IF;

  UPDATE prestabot.number_send_pacing p
  SET next_free_at = paced.next_free_at, business_next_free_at = coalesce(paced.business_next, p.business_next_free_at)
  FROM unnest(paced_numbers, paced_next_free, paced_business_next) AS paced (phone_number_id, next_free_at, business_next)
  WHERE p.phone_number_id = paced.phone_number_id;

  UPDATE prestabot.outbox o
  SET lease_owner = p_owner, send_at = slot.send_at, leased_until = slot.send_at + p_lease_ms * interval '1 millisecond'
  FROM unnest(send_ids, send_slots) AS slot (id, send_at)
  WHERE o.id = ANY (send_ids) AND o.id = slot.id;
  PERFORM prestabot.record_reach(send_ids);

  RETURN QUERY SELECT * FROM prestabot.claimed_sends(send_ids);
END
$$;
