-- PrestaBot's schema, the role the application acts as, and the helpers every tenant-owned table uses.
--
-- Run migrations as a role that bypasses row-level security: a superuser, or Supabase's `postgres`
-- (BYPASSRLS). That role owns every table and every SECURITY DEFINER function here; the definer
-- functions are the only cross-tenant paths, and they see every tenant only because their owner does.
--
-- Everything lives in the `prestabot` schema rather than `public`: hosted platforms (Supabase's
-- PostgREST) expose `public` and grant its new tables and functions to their API roles by default.

CREATE SCHEMA IF NOT EXISTS prestabot;
REVOKE ALL ON SCHEMA prestabot FROM PUBLIC;

-- The application role: every transaction of the application begins with SET LOCAL ROLE prestabot_app.
-- It cannot log in, owns nothing, never bypasses row-level security, and holds only the grants below.
DO $$
BEGIN
  CREATE ROLE prestabot_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
EXCEPTION
  -- Roles are cluster-wide: another database on this server, or a concurrent migration, made it first.
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- SET ROLE needs membership (with the SET option from PostgreSQL 16 on); superusers have it implicitly.
DO $$
BEGIN
  IF NOT pg_has_role(current_user, 'prestabot_app',
                     CASE WHEN current_setting('server_version_num')::integer >= 160000 THEN 'SET' ELSE 'MEMBER' END)
  THEN
    EXECUTE format('GRANT prestabot_app TO %I', current_user);
  END IF;
END
$$;

GRANT USAGE ON SCHEMA prestabot TO prestabot_app;

-- The tenant a transaction is scoped to (`app.tenant_id`, set transaction-locally). Unset or empty gives
-- NULL, and `tenant_id = NULL` matches no row: a session that forgot its scope sees and writes nothing,
-- instead of failing or seeing everything.
CREATE FUNCTION prestabot.prestabot_current_tenant() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

-- Every tenant-owned table goes through here, so none can exist without its isolation: row-level
-- security enabled and forced (the owner too), one policy that lets the application role see and write
-- the scoped tenant's rows only, and exactly the privileges the application needs.
CREATE PROCEDURE prestabot.isolate_tenant_table(target regclass, privileges text, tenant_column name DEFAULT 'tenant_id')
LANGUAGE plpgsql
AS $$
BEGIN
  IF privileges !~ '^(SELECT|INSERT|UPDATE|DELETE)(, (SELECT|INSERT|UPDATE|DELETE))*$' THEN
    RAISE EXCEPTION 'isolate_tenant_table: privileges must list SELECT, INSERT, UPDATE or DELETE, not "%"', privileges;
  END IF;
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', target);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %s FOR ALL TO prestabot_app '
    'USING (%2$I = prestabot.prestabot_current_tenant()) WITH CHECK (%2$I = prestabot.prestabot_current_tenant())',
    target, tenant_column);
  EXECUTE format('GRANT %s ON %s TO prestabot_app', privileges, target);
END
$$;
REVOKE ALL ON PROCEDURE prestabot.isolate_tenant_table(regclass, text, name) FROM PUBLIC;

-- Deployment-level tables (no tenant) are closed to everyone but their owner: row-level security with no
-- policy, and no grants. Only the definer functions read and write them.
CREATE PROCEDURE prestabot.close_deployment_table(target regclass)
LANGUAGE plpgsql
AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', target);
  EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', target);
END
$$;
REVOKE ALL ON PROCEDURE prestabot.close_deployment_table(regclass) FROM PUBLIC;

-- Cross-tenant functions refuse to run inside a tenant's transaction, so a tenant's unit of work cannot
-- reach another tenant's rows even through them.
CREATE FUNCTION prestabot.assert_unscoped() RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  IF prestabot.prestabot_current_tenant() IS NOT NULL THEN
    RAISE EXCEPTION 'a cross-tenant function was called inside a tenant-scoped transaction'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
END
$$;
