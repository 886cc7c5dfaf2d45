-- The outbox's unique (tenant_id, idempotency_key) held each key's whole text: a reply's key
-- (`reply:<entry id>:<n>`) is 44 characters, an index entry 72 bytes. Every message wrote two of them (the
-- update that marks it sent cannot be HOT, so it adds a second entry), and the page splits of an index
-- growing that fast: about 330 bytes of WAL a message, the largest of its indexes. The key is now indexed
-- by its MD5 as a uuid, 16 bytes: an entry of 40.
--
-- MD5 is enough here: the index only tells keys apart, and two keys of one tenant would have to share a
-- digest by design, not by chance (2^-128 a pair), for the second message to be taken for the first; keys
-- are made by the application from ids. md5() is immutable, as an index needs; sha256() takes bytes, and
-- the text-to-bytes conversions are only stable.
--
-- A process still running the code before this one names the old key in its ON CONFLICT, and its enqueue
-- fails: its unit of work is undone, and the entry or the webhook is worked on again by a process on this
-- version, as after 0037.

CREATE UNIQUE INDEX outbox_idempotency_digest ON prestabot.outbox (tenant_id, (md5(idempotency_key)::uuid));
ALTER TABLE prestabot.outbox DROP CONSTRAINT outbox_tenant_id_idempotency_key_key;
