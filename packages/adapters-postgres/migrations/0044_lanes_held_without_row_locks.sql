-- A number's send lane is held by a transaction-level advisory lock instead of a row lock on its pacing
-- row. lock_send_lanes (0036) locked the pacing rows FOR UPDATE SKIP LOCKED, and pace_lanes then updated
-- them in the same transaction: a row lock is written into the row, so each lease wrote its lanes twice
-- (a 54-byte lock record, then the update). An advisory lock is not written to the WAL at all.
--
-- The lane is read after its lock is held, by a statement of its own: in READ COMMITTED each statement of
-- a function sees what committed before it began, so it sees the last holder's pace. Only lock_send_lanes
-- and pace_lanes (both under the lock) write the pacing rows, and the application's role cannot. A lane
-- another transaction holds is still skipped, not waited for. Under REPEATABLE READ or SERIALIZABLE, a
-- pace moved since the transaction's snapshot fails pace_lanes' update with a serialization failure, as
-- the row lock did.
--
-- The lock's key is the number's hashtext under a class of its own: two numbers whose hashes collide
-- share a lane lock, and one of them is skipped while the other is placed, never over its rate.

CREATE OR REPLACE FUNCTION prestabot.lock_send_lanes(p_numbers text[], p_now_ms double precision, p_rate_share double precision)
RETURNS TABLE (phone_number_id text, start_ms double precision, spacing_ms double precision,
               business_start_ms double precision, business_spacing_ms double precision)
LANGUAGE plpgsql VOLATILE
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
  held_numbers text[];
BEGIN
  -- Only numbers with no row try to insert one: an insert that meets the key of a row another transaction
  -- is updating waits for that transaction, where the lock below skips it.
  INSERT INTO prestabot.number_send_pacing (phone_number_id)
  SELECT DISTINCT number.phone_number_id FROM unnest(p_numbers) AS number (phone_number_id)
  WHERE NOT EXISTS (SELECT 1 FROM prestabot.number_send_pacing p WHERE p.phone_number_id = number.phone_number_id)
  ON CONFLICT DO NOTHING;

  held_numbers := ARRAY(
    SELECT lane.phone_number_id
    FROM (SELECT DISTINCT number.phone_number_id FROM unnest(p_numbers) AS number (phone_number_id)) lane
    WHERE pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('prestabot.number_send_pacing'),
                                                pg_catalog.hashtext(lane.phone_number_id)));

  RETURN QUERY
    SELECT p.phone_number_id,
           greatest(p_now_ms, coalesce((extract(epoch FROM p.next_free_at) * 1000)::double precision, p_now_ms)),
           1000 / (n.rate_per_second * p_rate_share),
           CASE WHEN prestabot.business_pace_share(n.quality_rating, n.quality_flagged) < 1 THEN
             greatest(p_now_ms, coalesce((extract(epoch FROM p.business_next_free_at) * 1000)::double precision, p_now_ms))
           END,
           CASE WHEN prestabot.business_pace_share(n.quality_rating, n.quality_flagged) < 1 THEN
             1000 / (n.rate_per_second * p_rate_share * prestabot.business_pace_share(n.quality_rating, n.quality_flagged))
           END
    FROM prestabot.number_send_pacing p
    JOIN prestabot.whatsapp_numbers n ON n.phone_number_id = p.phone_number_id
    WHERE p.phone_number_id = ANY (held_numbers) AND n.token_invalid_at IS NULL
    ORDER BY p.phone_number_id;
END
$$;
