-- The inbox, the outbox and the message log name their tenant's WhatsApp number, and the outbox and the log
-- their contact, through composite foreign keys: a row may name only a number and a contact of its own
-- tenant. A foreign key checks a new row by locking the row it names (FOR KEY SHARE), and a lock is a
-- change to that row, logged: the webhook's transaction locked the number and the contact, and the
-- transaction recording the send locked them again. Four lock records, about 216 bytes of WAL a message,
-- 5 % of it, to guard against a delete that never comes: the app's role may not delete numbers or contacts
-- (0002 grants it no DELETE), and nothing changes their keys.
--
-- The same check is now made by constraint triggers that read the row named without locking it, with the
-- foreign key's error (23503) and names. The numbers and contacts keep what the keys gave them: a number or
-- contact still named by an inbox entry, an outbox message or a logged message is neither deleted nor
-- given another key.

ALTER TABLE prestabot.inbox DROP CONSTRAINT inbox_tenant_id_phone_number_id_fkey;
ALTER TABLE prestabot.outbox DROP CONSTRAINT outbox_tenant_id_phone_number_id_fkey;
ALTER TABLE prestabot.outbox DROP CONSTRAINT outbox_tenant_id_contact_id_fkey;
ALTER TABLE prestabot.messages DROP CONSTRAINT messages_tenant_id_phone_number_id_fkey;
ALTER TABLE prestabot.messages DROP CONSTRAINT messages_tenant_id_contact_id_fkey;

-- Run as whoever writes the row, as 0035's trigger: a tenant's session sees only its own numbers and
-- contacts, the owner (the definer functions) sees all; the tenant is compared either way.
--
-- Unlike 0035's, these run for every row a message writes, and pin no search_path: setting and restoring
-- it cost as much as the check (20,000 one-row inserts into the log took 1.4-1.9 s with it, 1.3-1.4 s
-- without, 1.1-1.5 s with the foreign keys). Every name they use is qualified instead, operators too.
CREATE FUNCTION prestabot.number_of_own_tenant() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM prestabot.whatsapp_numbers n
    WHERE n.tenant_id OPERATOR(pg_catalog.=) NEW.tenant_id
      AND n.phone_number_id OPERATOR(pg_catalog.=) NEW.phone_number_id
  ) THEN
    RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"', TG_TABLE_NAME, TG_NAME
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_NAME, SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
            DETAIL = pg_catalog.format('Key (tenant_id, phone_number_id)=(%s, %s) is not a number of that tenant.',
                            NEW.tenant_id, NEW.phone_number_id);
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION prestabot.contact_of_own_tenant() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF NEW.contact_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM prestabot.contacts c
    WHERE c.tenant_id OPERATOR(pg_catalog.=) NEW.tenant_id AND c.id OPERATOR(pg_catalog.=) NEW.contact_id
  ) THEN
    RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"', TG_TABLE_NAME, TG_NAME
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_NAME, SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
            DETAIL = pg_catalog.format('Key (tenant_id, contact_id)=(%s, %s) is not a contact of that tenant.',
                            NEW.tenant_id, NEW.contact_id);
  END IF;
  RETURN NULL;
END
$$;

-- Named as the foreign keys were, so an error names the same constraint. An update fires them only when it
-- sets one of the columns, which no statement of PrestaBot's does.
CREATE CONSTRAINT TRIGGER inbox_tenant_id_phone_number_id_fkey
  AFTER INSERT OR UPDATE OF tenant_id, phone_number_id ON prestabot.inbox
  FOR EACH ROW EXECUTE FUNCTION prestabot.number_of_own_tenant();
CREATE CONSTRAINT TRIGGER outbox_tenant_id_phone_number_id_fkey
  AFTER INSERT OR UPDATE OF tenant_id, phone_number_id ON prestabot.outbox
  FOR EACH ROW EXECUTE FUNCTION prestabot.number_of_own_tenant();
CREATE CONSTRAINT TRIGGER outbox_tenant_id_contact_id_fkey
  AFTER INSERT OR UPDATE OF tenant_id, contact_id ON prestabot.outbox
  FOR EACH ROW EXECUTE FUNCTION prestabot.contact_of_own_tenant();
CREATE CONSTRAINT TRIGGER messages_tenant_id_phone_number_id_fkey
  AFTER INSERT OR UPDATE OF tenant_id, phone_number_id ON prestabot.messages
  FOR EACH ROW EXECUTE FUNCTION prestabot.number_of_own_tenant();
CREATE CONSTRAINT TRIGGER messages_tenant_id_contact_id_fkey
  AFTER INSERT OR UPDATE OF tenant_id, contact_id ON prestabot.messages
  FOR EACH ROW EXECUTE FUNCTION prestabot.contact_of_own_tenant();

-- The other side of the keys: a number or contact still named is not deleted, nor its key changed. Only the
-- owner could try (the app's role may not delete either), and unlike a key's check these do not see a row
-- another transaction is writing at that moment: the owner deleting a number in use would race its traffic
-- either way. The reads go by each table's keys where it has one, and are as rare as the deletes.
CREATE FUNCTION prestabot.number_still_named() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF (TG_OP = 'DELETE' OR (OLD.tenant_id, OLD.phone_number_id) IS DISTINCT FROM (NEW.tenant_id, NEW.phone_number_id))
     AND (EXISTS (SELECT 1 FROM prestabot.inbox e WHERE e.phone_number_id = OLD.phone_number_id AND e.tenant_id = OLD.tenant_id)
          OR EXISTS (SELECT 1 FROM prestabot.outbox o WHERE o.phone_number_id = OLD.phone_number_id AND o.tenant_id = OLD.tenant_id)
          OR EXISTS (SELECT 1 FROM prestabot.messages m WHERE m.tenant_id = OLD.tenant_id AND m.phone_number_id = OLD.phone_number_id))
  THEN
    RAISE EXCEPTION 'update or delete on table "whatsapp_numbers" violates a foreign key: the number is still named by its queues or log'
      USING ERRCODE = 'foreign_key_violation', SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
            DETAIL = format('Key (tenant_id, phone_number_id)=(%s, %s) is still referenced.', OLD.tenant_id, OLD.phone_number_id);
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION prestabot.contact_still_named() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF (TG_OP = 'DELETE' OR (OLD.tenant_id, OLD.id) IS DISTINCT FROM (NEW.tenant_id, NEW.id))
     AND (EXISTS (SELECT 1 FROM prestabot.outbox o WHERE o.contact_id = OLD.id AND o.tenant_id = OLD.tenant_id)
          OR EXISTS (SELECT 1 FROM prestabot.messages m WHERE m.tenant_id = OLD.tenant_id AND m.contact_id = OLD.id))
  THEN
    RAISE EXCEPTION 'update or delete on table "contacts" violates a foreign key: the contact is still named by the outbox or the log'
      USING ERRCODE = 'foreign_key_violation', SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
            DETAIL = format('Key (tenant_id, id)=(%s, %s) is still referenced.', OLD.tenant_id, OLD.id);
  END IF;
  RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER whatsapp_numbers_still_named
  AFTER DELETE OR UPDATE OF tenant_id, phone_number_id ON prestabot.whatsapp_numbers
  FOR EACH ROW EXECUTE FUNCTION prestabot.number_still_named();
CREATE CONSTRAINT TRIGGER contacts_still_named
  AFTER DELETE OR UPDATE OF tenant_id, id ON prestabot.contacts
  FOR EACH ROW EXECUTE FUNCTION prestabot.contact_still_named();

-- A key also refused a TRUNCATE of the numbers or contacts alone while rows named them, and its CASCADE
-- took those rows along. Now the truncate must name the inbox, outbox and log itself, or it is undone.
CREATE FUNCTION prestabot.truncated_while_named() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM prestabot.outbox) OR EXISTS (SELECT 1 FROM prestabot.messages)
     OR (TG_TABLE_NAME = 'whatsapp_numbers' AND EXISTS (SELECT 1 FROM prestabot.inbox))
  THEN
    RAISE EXCEPTION 'cannot truncate "%" while the inbox, the outbox or the message log name its rows', TG_TABLE_NAME
      USING ERRCODE = 'feature_not_supported',
            HINT = 'Truncate prestabot.inbox, prestabot.outbox and prestabot.messages in the same command.';
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER whatsapp_numbers_truncated_while_named AFTER TRUNCATE ON prestabot.whatsapp_numbers
  FOR EACH STATEMENT EXECUTE FUNCTION prestabot.truncated_while_named();
CREATE TRIGGER contacts_truncated_while_named AFTER TRUNCATE ON prestabot.contacts
  FOR EACH STATEMENT EXECUTE FUNCTION prestabot.truncated_while_named();
