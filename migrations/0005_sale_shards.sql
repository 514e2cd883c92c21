-- A sale may spread its stock over shards (API.md, docs/sharded-sales.md); each order records the
-- shard whose unit it holds, so recovery takes it again, or gives it back, on that shard.
ALTER TABLE "orders" ADD COLUMN "shard" smallint;--> statement-breakpoint
ALTER TABLE "sales" ADD COLUMN "shards" smallint DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "sales" ADD CONSTRAINT "sales_shards_range" CHECK ("sales"."shards" BETWEEN 1 AND 64);