CREATE TABLE "sale_changes" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "sale_changes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"sale_id" bigint NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"before" jsonb NOT NULL,
	"after" jsonb NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sale_order_counts" (
	"sale_id" bigint NOT NULL,
	"status" text NOT NULL,
	"orders" bigint NOT NULL,
	CONSTRAINT "sale_order_counts_sale_id_status_pk" PRIMARY KEY("sale_id","status")
);
--> statement-breakpoint
ALTER TABLE "sales" ADD COLUMN "paused" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "sale_changes" ADD CONSTRAINT "sale_changes_sale_id_sales_id_fk" FOREIGN KEY ("sale_id") REFERENCES "public"."sales"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sale_order_counts" ADD CONSTRAINT "sale_order_counts_sale_id_sales_id_fk" FOREIGN KEY ("sale_id") REFERENCES "public"."sales"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sale_changes_sale_idx" ON "sale_changes" USING btree ("sale_id","id");--> statement-breakpoint
-- The admin's live counts (API.md, Operating a sale): one row per sale and status, changed once
-- per statement and status, so the worker's group commit of a batch of orders costs one row
-- update, not one per order. Rows are written in (sale, status) order so two transactions
-- touching the same rows lock them in the same order and cannot deadlock on them.
-- One function for the three triggers: a trigger with transition tables takes one event, and
-- plpgsql plans a query naming a transition table only when its branch runs.
CREATE FUNCTION "orders_count_statuses"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO "sale_order_counts" ("sale_id", "status", "orders")
		SELECT "sale_id", "status", count(*) FROM new_orders GROUP BY 1, 2 ORDER BY 1, 2
		ON CONFLICT ("sale_id", "status")
		DO UPDATE SET "orders" = "sale_order_counts"."orders" + excluded."orders";
	ELSIF TG_OP = 'DELETE' THEN
		UPDATE "sale_order_counts" c SET "orders" = c."orders" - d.n
		FROM (SELECT "sale_id", "status", count(*) AS n FROM old_orders GROUP BY 1, 2) d
		WHERE c."sale_id" = d."sale_id" AND c."status" = d."status";
	ELSE
		INSERT INTO "sale_order_counts" ("sale_id", "status", "orders")
		SELECT "sale_id", "status", sum(n) FROM (
			SELECT "sale_id", "status", 1 AS n FROM new_orders
			UNION ALL
			SELECT "sale_id", "status", -1 FROM old_orders
		) moves GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2
		ON CONFLICT ("sale_id", "status")
		DO UPDATE SET "orders" = "sale_order_counts"."orders" + excluded."orders";
	END IF;
	RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "orders_count_inserts"
	AFTER INSERT ON "orders" REFERENCING NEW TABLE AS new_orders
	FOR EACH STATEMENT EXECUTE FUNCTION "orders_count_statuses"();
--> statement-breakpoint
CREATE TRIGGER "orders_count_updates"
	AFTER UPDATE ON "orders" REFERENCING OLD TABLE AS old_orders NEW TABLE AS new_orders
	FOR EACH STATEMENT EXECUTE FUNCTION "orders_count_statuses"();
--> statement-breakpoint
CREATE TRIGGER "orders_count_deletes"
	AFTER DELETE ON "orders" REFERENCING OLD TABLE AS old_orders
	FOR EACH STATEMENT EXECUTE FUNCTION "orders_count_statuses"();
--> statement-breakpoint
-- Orders written before this migration: counted once, under a lock that keeps new ones out
-- until the triggers are in place (the migration is one transaction).
LOCK TABLE "orders" IN SHARE MODE;
--> statement-breakpoint
INSERT INTO "sale_order_counts" ("sale_id", "status", "orders")
SELECT "sale_id", "status", count(*) FROM "orders" GROUP BY 1, 2;
