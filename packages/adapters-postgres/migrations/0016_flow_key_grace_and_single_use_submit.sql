-- A replaced Flows key's grace period starts when its successor is registered with Meta (`flows
-- register-key`), not when the successor is made (`flows keygen`): until then Meta still hands out the old
-- public key, so requests encrypted to it must keep opening. NULL on a retired key: not begun yet. Keys
-- retired before this migration keep the start they had.
ALTER TABLE prestabot.flow_keys ADD COLUMN grace_from timestamptz;
UPDATE prestabot.flow_keys SET grace_from = retired_at WHERE retired_at IS NOT NULL;

-- A flow token saves a profile once: the expiry of the newest token whose submit was saved. A submit with a
-- token expiring no later (the same one replayed, or an older Flow) is refused and changes nothing.
ALTER TABLE prestabot.contacts ADD COLUMN profile_submit_token_expiry timestamptz;
