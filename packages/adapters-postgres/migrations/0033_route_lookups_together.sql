-- The routes of several numbers in one call. The routing cache refreshes the routes in use together
-- (CachingTenantDirectory): with one lookup per number, each number's entry cost a statement and a
-- transaction of its own every 5 s, about 0.2 transactions a message at 100 messages/s over 100 numbers.
-- Unknown numbers are absent from the answer. Each route is read as find_number_route reads it.
CREATE FUNCTION prestabot.find_number_routes(p_phone_number_ids text[])
RETURNS SETOF prestabot.tenant_number
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT route.*
  FROM unnest(p_phone_number_ids) AS wanted (phone_number_id)
  CROSS JOIN LATERAL prestabot.find_number_route(wanted.phone_number_id) AS route
$$;
REVOKE ALL ON FUNCTION prestabot.find_number_routes(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prestabot.find_number_routes(text[]) TO prestabot_app;
