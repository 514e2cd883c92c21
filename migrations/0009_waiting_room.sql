CREATE TABLE "waiting_rooms" (
	"sale_id" bigint PRIMARY KEY NOT NULL,
	"opens_at" timestamp with time zone NOT NULL,
	"pass_seconds" integer NOT NULL,
	"idle_seconds" integer NOT NULL,
	"admit_per_second" integer,
	"joined" bigint DEFAULT 0 NOT NULL,
	"drawn_size" bigint,
	"drawn_order" "bytea",
	"admitted_to" bigint DEFAULT 0 NOT NULL,
	"admitted" bigint DEFAULT 0 NOT NULL,
	"batches" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"gone" "bytea",
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "waiting_rooms_pass_range" CHECK ("waiting_rooms"."pass_seconds" BETWEEN 30 AND 3600),
	CONSTRAINT "waiting_rooms_idle_range" CHECK ("waiting_rooms"."idle_seconds" BETWEEN 10 AND 600)
);
--> statement-breakpoint
ALTER TABLE "sales" ADD COLUMN "waiting_room" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "waiting_rooms" ADD CONSTRAINT "waiting_rooms_sale_id_sales_id_fk" FOREIGN KEY ("sale_id") REFERENCES "public"."sales"("id") ON DELETE no action ON UPDATE no action;