ALTER TABLE "orders" DROP CONSTRAINT "orders_status_known";--> statement-breakpoint
DROP INDEX "orders_confirmed_idempotency_key_idx";--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "pay_by" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "payment_id" text;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "paid_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "returned_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sales" ADD COLUMN "payment_window_seconds" integer;--> statement-breakpoint
CREATE UNIQUE INDEX "orders_held_idempotency_key_idx" ON "orders" USING btree ("sale_id","user_id","idempotency_key") WHERE "orders"."idempotency_key" IS NOT NULL AND "orders"."status" IN ('confirmed', 'paid');--> statement-breakpoint
CREATE INDEX "orders_unpaid_pay_by_idx" ON "orders" USING btree ("pay_by") WHERE "orders"."status" = 'confirmed' AND "orders"."pay_by" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "orders_return_pending_idx" ON "orders" USING btree ("sale_id") WHERE "orders"."status" IN ('expired', 'cancelled') AND "orders"."returned_at" IS NULL;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_paid_has_payment" CHECK ("orders"."status" <> 'paid' OR "orders"."payment_id" IS NOT NULL);--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_status_known" CHECK ("orders"."status" IN ('pending', 'confirmed', 'failed', 'paid', 'expired', 'cancelled'));--> statement-breakpoint
ALTER TABLE "sales" ADD CONSTRAINT "sales_payment_window_range" CHECK ("sales"."payment_window_seconds" IS NULL OR "sales"."payment_window_seconds" BETWEEN 10 AND 86400);