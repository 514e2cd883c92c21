-- The database's own sale-window guard: an order is confirmed only if the gate reserved it
-- inside its sale's [starts_at, ends_at) window, the same half-open window lua/reserve-6.lua
-- enforces. A violation raises check_violation (23514), which the worker treats as permanent.
CREATE FUNCTION "orders_within_sale_window"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	sale_starts timestamptz;
	sale_ends timestamptz;
BEGIN
	SELECT "starts_at", "ends_at" INTO sale_starts, sale_ends FROM "sales" WHERE "id" = NEW."sale_id";
	-- A missing sale is the foreign key's to refuse.
	IF NOT FOUND THEN
		RETURN NEW;
	END IF;
	IF NEW."reserved_at" < sale_starts OR (sale_ends IS NOT NULL AND NEW."reserved_at" >= sale_ends) THEN
		RAISE EXCEPTION 'order % was reserved at %, outside the window of sale %', NEW."id", NEW."reserved_at", NEW."sale_id"
			USING ERRCODE = 'check_violation', CONSTRAINT = 'orders_within_sale_window', TABLE = 'orders';
	END IF;
	RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "orders_within_sale_window"
	BEFORE INSERT OR UPDATE OF "status", "reserved_at", "sale_id" ON "orders"
	FOR EACH ROW
	WHEN (NEW."status" = 'confirmed')
	EXECUTE FUNCTION "orders_within_sale_window"();
