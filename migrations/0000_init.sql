CREATE TABLE "orders" (
	"id" text PRIMARY KEY NOT NULL,
	"sale_id" bigint NOT NULL,
	"user_id" text NOT NULL,
	"quantity" integer NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"reserved_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "orders_quantity_positive" CHECK ("orders"."quantity" >= 1),
	CONSTRAINT "orders_status_known" CHECK ("orders"."status" IN ('pending', 'confirmed', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "sale_buyers" (
	"sale_id" bigint NOT NULL,
	"user_id" text NOT NULL,
	"units" integer NOT NULL,
	"unit_limit" integer NOT NULL,
	CONSTRAINT "sale_buyers_sale_id_user_id_pk" PRIMARY KEY("sale_id","user_id"),
	CONSTRAINT "sale_buyers_within_limit" CHECK ("sale_buyers"."units" >= 0 AND "sale_buyers"."units" <= "sale_buyers"."unit_limit")
);
--> statement-breakpoint
CREATE TABLE "sales" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "sales_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"sku" text NOT NULL,
	"name" text NOT NULL,
	"stock" integer NOT NULL,
	"per_user_limit" integer DEFAULT 1 NOT NULL,
	"sold" integer DEFAULT 0 NOT NULL,
	"starts_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ends_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sales_sku_unique" UNIQUE("sku"),
	CONSTRAINT "sales_stock_positive" CHECK ("sales"."stock" >= 1),
	CONSTRAINT "sales_limit_positive" CHECK ("sales"."per_user_limit" >= 1),
	CONSTRAINT "sales_sold_within_stock" CHECK ("sales"."sold" >= 0 AND "sales"."sold" <= "sales"."stock"),
	CONSTRAINT "sales_window_ordered" CHECK ("sales"."ends_at" IS NULL OR "sales"."ends_at" > "sales"."starts_at")
);
--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_sale_id_sales_id_fk" FOREIGN KEY ("sale_id") REFERENCES "public"."sales"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sale_buyers" ADD CONSTRAINT "sale_buyers_sale_id_sales_id_fk" FOREIGN KEY ("sale_id") REFERENCES "public"."sales"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "orders_sale_status_idx" ON "orders" USING btree ("sale_id","status");--> statement-breakpoint
CREATE INDEX "orders_sale_user_idx" ON "orders" USING btree ("sale_id","user_id");