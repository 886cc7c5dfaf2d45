-- A runtime login that cannot leave row-level security.
--
-- Until now `serve` and `worker` logged in as the migrating role (which bypasses row-level security) and
-- became prestabot_app with SET LOCAL ROLE: any statement that ran RESET ROLE saw every tenant. Now
-- prestabot_app may log in itself (DATABASE_URL), while migrations and the admin commands use the
-- migrating role (DATABASE_MIGRATION_URL). Logged in as prestabot_app, RESET ROLE leaves it prestabot_app.
-- It gets no password here: the operator sets one (ALTER ROLE prestabot_app PASSWORD '…'), see the README.
DO $$
BEGIN
  ALTER ROLE prestabot_app LOGIN;
EXCEPTION
  -- Without CREATEROLE the migrating role cannot: the single-URL mode still works, and the README says
  -- how an administrator allows the login.
  WHEN insufficient_privilege THEN
    RAISE WARNING 'prestabot_app cannot be made a login role by %: run ALTER ROLE prestabot_app LOGIN PASSWORD ''…'' as a superuser', current_user;
END
$$;

-- Only the admin commands register apps and list tenants, over DATABASE_MIGRATION_URL (or the single URL,
-- a role that owns these functions). The web path still lists the apps' sealed secrets (it checks
-- signatures with them) and the Flows keys (it decrypts Flows requests with them).
REVOKE EXECUTE ON FUNCTION
  prestabot.register_meta_app(uuid, text, text, text),
  prestabot.list_tenants_with_numbers()
FROM prestabot_app;

-- As 0010, but the cutoff is checked here against the database's clock: whoever calls it cannot delete
-- what Meta may still redeliver (7 days, `minimumRetentionDays`), and so answer a message twice. A few
-- minutes of slack keep a worker whose clock runs slightly ahead from failing its prune.
CREATE OR REPLACE FUNCTION prestabot.prune_finished(p_before timestamptz, p_limit integer)
RETURNS TABLE (pruned_inbox integer, pruned_outbox integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
SET enable_seqscan = off
AS $$
DECLARE
  finished_inbox uuid[];
  finished_outbox uuid[];
BEGIN
  PERFORM prestabot.assert_unscoped();
  IF p_before IS NULL OR p_before > now() - interval '7 days' + interval '5 minutes' THEN
    RAISE EXCEPTION 'prune_finished: the cutoff % is less than 7 days ago; Meta may still redeliver what it would delete', p_before
      USING ERRCODE = 'insufficient_privilege';
  END IF;

  SELECT coalesce(array_agg(chosen.id), '{}') INTO finished_inbox
  FROM (
    SELECT e.id
    FROM prestabot.inbox e
    WHERE e.processed_at < p_before
    ORDER BY e.processed_at
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  ) chosen;
  DELETE FROM prestabot.inbox e WHERE e.id = ANY (finished_inbox);
  GET DIAGNOSTICS pruned_inbox = ROW_COUNT;

  SELECT coalesce(array_agg(chosen.id), '{}') INTO finished_outbox
  FROM (
    SELECT o.id
    FROM prestabot.outbox o
    WHERE o.status <> 'pending' AND coalesce(o.sent_at, o.failed_at) < p_before
    ORDER BY coalesce(o.sent_at, o.failed_at)
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  ) chosen;
  UPDATE prestabot.reminders r SET outbox_id = NULL WHERE r.outbox_id = ANY (finished_outbox);
  DELETE FROM prestabot.outbox o WHERE o.id = ANY (finished_outbox);
  GET DIAGNOSTICS pruned_outbox = ROW_COUNT;

  RETURN NEXT;
END
$$;
