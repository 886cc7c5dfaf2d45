-- A lane another process is placing slots on is skipped, not waited for. lock_send_lanes (0032) inserted
-- every number's pacing row ON CONFLICT DO NOTHING before locking the rows FOR UPDATE SKIP LOCKED; the
-- insert, meeting the key of a row another transaction had updated and not yet committed, waited for that
-- transaction, so SKIP LOCKED never got to skip it. Over ten minutes at 125 messages/s, 21 such waits
-- lasted over 200 ms (log_lock_waits). Now only numbers without a row try the insert.

CREATE OR REPLACE FUNCTION prestabot.lock_send_lanes(p_numbers text[], p_now_ms double precision, p_rate_share double precision)
RETURNS TABLE (phone_number_id text, start_ms double precision, spacing_ms double precision,
               business_start_ms double precision, business_spacing_ms double precision)
LANGUAGE plpgsql VOLATILE
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
  -- Only numbers with no row try to insert one: an insert that meets the key of a row another transaction
  -- is updating waits for that transaction, where the lock below skips it.
  INSERT INTO prestabot.number_send_pacing (phone_number_id)
  SELECT DISTINCT number.phone_number_id FROM unnest(p_numbers) AS number (phone_number_id)
  WHERE NOT EXISTS (SELECT 1 FROM prestabot.number_send_pacing p WHERE p.phone_number_id = number.phone_number_id)
  ON CONFLICT DO NOTHING;

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
    WHERE p.phone_number_id = ANY (p_numbers) AND n.token_invalid_at IS NULL
    ORDER BY p.phone_number_id
    FOR UPDATE OF p SKIP LOCKED;
END
$$;
