-- The outbox had two unique indexes on its ids: the primary key, and (tenant_id, id), which existed only as
-- the target of reminders' composite foreign key (a reminder names an outbox row of its own tenant). Every
-- reply wrote an entry into both, and each again when it was marked sent (that update cannot be HOT: the
-- pending indexes are partial on status): about 230 of a message's 5–6 KB of WAL went to (tenant_id, id).
--
-- Reminders now reference the primary key, and a constraint trigger refuses a reminder naming another
-- tenant's outbox row, with the foreign-key error (23503) the composite key gave. Reminders are written a
-- few times a day per loan; replies, once per message.
ALTER TABLE prestabot.reminders DROP CONSTRAINT reminders_tenant_id_outbox_id_fkey;
ALTER TABLE prestabot.reminders
  ADD CONSTRAINT reminders_outbox_id_fkey FOREIGN KEY (outbox_id) REFERENCES prestabot.outbox (id);
ALTER TABLE prestabot.outbox DROP CONSTRAINT outbox_tenant_id_id_key;

-- Runs as whoever writes the reminder: a tenant's session sees only its own outbox rows, and the owner (the
-- definer functions, which set outbox_id only to NULL) sees all; the tenant is compared either way.
CREATE FUNCTION prestabot.reminder_outbox_of_own_tenant() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NEW.outbox_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM prestabot.outbox o WHERE o.id = NEW.outbox_id AND o.tenant_id = NEW.tenant_id
  ) THEN
    RAISE EXCEPTION 'insert or update on table "reminders" violates foreign key constraint "reminders_outbox_of_own_tenant"'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'reminders_outbox_of_own_tenant',
            SCHEMA = 'prestabot', TABLE = 'reminders',
            DETAIL = 'The outbox row a reminder names must belong to the reminder''s tenant.';
  END IF;
  RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER reminders_outbox_of_own_tenant
  AFTER INSERT OR UPDATE OF outbox_id, tenant_id ON prestabot.reminders
  FOR EACH ROW EXECUTE FUNCTION prestabot.reminder_outbox_of_own_tenant();
