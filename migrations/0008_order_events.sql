CREATE TABLE "order_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "order_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"order_id" text NOT NULL,
	"sale_id" bigint NOT NULL,
	"status" text NOT NULL,
	"user_id" text NOT NULL,
	"quantity" integer NOT NULL,
	"reason" text,
	"pay_by" timestamp with time zone,
	"order_created_at" timestamp with time zone NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "order_events_unpublished_idx" ON "order_events" USING btree ("id") WHERE "order_events"."published_at" IS NULL;--> statement-breakpoint
-- The outbox row of every change of an order's status to one that makes an event, written by
-- the statement that changes it, so in its transaction: the group commit, the one-by-one
-- fallback, the compensator's and the reconciler's failed rows, the payment arbiter, the
-- expiry job and sweep, and the recovery all write orders, and none can forget its event.
-- Per statement, with transition tables: a group commit of 128 orders adds one INSERT ...
-- SELECT, not 128 trigger calls. Kept apart from any other trigger on orders.
CREATE FUNCTION "order_events_record"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO "order_events" ("order_id", "sale_id", "status", "user_id", "quantity", "reason", "pay_by", "order_created_at")
		SELECT n."id", n."sale_id", n."status", n."user_id", n."quantity", n."reason", n."pay_by", n."created_at"
		FROM "order_events_new" n
		WHERE n."status" IN ('confirmed', 'paid', 'expired', 'cancelled', 'failed')
		ORDER BY n."id";
	ELSE
		INSERT INTO "order_events" ("order_id", "sale_id", "status", "user_id", "quantity", "reason", "pay_by", "order_created_at")
		SELECT n."id", n."sale_id", n."status", n."user_id", n."quantity", n."reason", n."pay_by", n."created_at"
		FROM "order_events_new" n JOIN "order_events_old" o ON o."id" = n."id"
		WHERE n."status" IS DISTINCT FROM o."status"
			AND n."status" IN ('confirmed', 'paid', 'expired', 'cancelled', 'failed')
		ORDER BY n."id";
	END IF;
	RETURN NULL;
END;
$$;
--> statement-breakpoint
-- PostgreSQL takes transition tables only on a trigger of one event: one trigger each.
CREATE TRIGGER "order_events_on_insert"
	AFTER INSERT ON "orders"
	REFERENCING NEW TABLE AS "order_events_new"
	FOR EACH STATEMENT
	EXECUTE FUNCTION "order_events_record"();
--> statement-breakpoint
CREATE TRIGGER "order_events_on_update"
	AFTER UPDATE ON "orders"
	REFERENCING OLD TABLE AS "order_events_old" NEW TABLE AS "order_events_new"
	FOR EACH STATEMENT
	EXECUTE FUNCTION "order_events_record"();
