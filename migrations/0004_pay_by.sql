-- The payment window starts when an order is confirmed, by the database clock: every path that
-- writes a confirmed order (the worker's group commit, its one-by-one fallback) gets pay_by
-- from here, so none can forget it, and the guarded updates that pay, cancel or expire an
-- order judge pay_by against the same clock (API.md, Payment).
CREATE FUNCTION "orders_set_pay_by"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	window_seconds integer;
BEGIN
	SELECT "payment_window_seconds" INTO window_seconds FROM "sales" WHERE "id" = NEW."sale_id";
	IF window_seconds IS NOT NULL THEN
		NEW."pay_by" := now() + make_interval(secs => window_seconds);
	END IF;
	RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "orders_set_pay_by"
	BEFORE INSERT ON "orders"
	FOR EACH ROW
	WHEN (NEW."status" = 'confirmed' AND NEW."pay_by" IS NULL)
	EXECUTE FUNCTION "orders_set_pay_by"();
