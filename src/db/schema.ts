import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  uniqueIndex,
  integer,
  jsonb,
  customType,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';

const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
};

export const sales = pgTable(
  'sales',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    sku: text('sku').notNull().unique(),
    name: text('name').notNull(),
    stock: integer('stock').notNull(),
    perUserLimit: integer('per_user_limit').notNull().default(1),
    sold: integer('sold').notNull().default(0),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull().defaultNow(),
    endsAt: timestamp('ends_at', { withTimezone: true }),
    // Seconds a confirmed order is held for its buyer to pay (API.md, Payment); null: a
    // confirmed order is final.
    paymentWindowSeconds: integer('payment_window_seconds'),
    // How many shards the gate spreads the stock over (API.md, docs/sharded-sales.md).
    shards: smallint('shards').notNull().default(1),
    // Every purchase (or join, with a waiting room) carries a solved challenge (API.md, Proof
    // of work). Fixed at creation: API processes cache it for the sale's life.
    proofOfWork: boolean('proof_of_work').notNull().default(false),
    // Bought through a waiting room (API.md; its settings in waiting_rooms): a purchase needs
    // a pass. Fixed at creation, and carried into the gate's hash with the sale's features.
    waitingRoom: boolean('waiting_room').notNull().default(false),
    // The kill switch (API.md, Operating a sale): the gate refuses purchases while it is set.
    paused: boolean('paused').notNull().default(false),
    ...timestamps,
  },
  (t) => [
    check('sales_stock_positive', sql`${t.stock} >= 1`),
    check('sales_limit_positive', sql`${t.perUserLimit} >= 1`),
    // The database's own oversell guard: no code path can sell more than the stock.
    check('sales_sold_within_stock', sql`${t.sold} >= 0 AND ${t.sold} <= ${t.stock}`),
    check('sales_window_ordered', sql`${t.endsAt} IS NULL OR ${t.endsAt} > ${t.startsAt}`),
    check(
      'sales_payment_window_range',
      sql`${t.paymentWindowSeconds} IS NULL OR ${t.paymentWindowSeconds} BETWEEN 10 AND 86400`,
    ),
    check('sales_shards_range', sql`${t.shards} BETWEEN 1 AND 64`),
  ],
);

// The sale a row belongs to, in every table kept per sale.
const saleRef = () => bigint('sale_id', { mode: 'number' }).references(() => sales.id);

export const orderStatuses = [
  'pending',
  'confirmed',
  'failed',
  'paid',
  'expired',
  'cancelled',
] as const;
export type OrderStatus = (typeof orderStatuses)[number];
// Orders whose units went back to the sale after they were confirmed (API.md, Payment).
export const returnedStatuses = ['expired', 'cancelled'] as const;

export const orders = pgTable(
  'orders',
  {
    // The order id minted at the gate: a redelivered job conflicts here and inserts nothing.
    id: text('id').primaryKey(),
    saleId: saleRef().notNull(),
    userId: text('user_id').notNull(),
    quantity: integer('quantity').notNull(),
    status: text('status', { enum: orderStatuses }).notNull(),
    reason: text('reason'),
    // When the gate reserved the units: the sale window is judged at this instant, not at
    // commit time, so an order reserved a moment before the end still confirms.
    reservedAt: timestamp('reserved_at', { withTimezone: true }).notNull(),
    // The purchase's Idempotency-Key, so that PostgreSQL refuses a second confirmed order for
    // one key even after Redis forgot it (DESIGN.md, when Redis forgets).
    idempotencyKey: text('idempotency_key'),
    // The gate shard whose unit the order holds, for a sale over shards (null: no shards), so
    // that a unit Redis forgot is taken again, or given back, on the shard that held it.
    shard: smallint('shard'),
    // Set by the database when an order of a sale with a payment window is confirmed
    // (migrations/0004_pay_by.sql): the database clock is the one arbiter of the window.
    payBy: timestamp('pay_by', { withTimezone: true }),
    paymentId: text('payment_id'),
    paidAt: timestamp('paid_at', { withTimezone: true }),
    // When an expired or cancelled order's units were given back in Redis: null marks a
    // return still to finish (docs/failure-model.md, the payment window).
    returnedAt: timestamp('returned_at', { withTimezone: true }),
    ...timestamps,
  },
  (t) => [
    check('orders_quantity_positive', sql`${t.quantity} >= 1`),
    check(
      'orders_status_known',
      sql`${t.status} IN ('pending', 'confirmed', 'failed', 'paid', 'expired', 'cancelled')`,
    ),
    check('orders_paid_has_payment', sql`${t.status} <> 'paid' OR ${t.paymentId} IS NOT NULL`),
    index('orders_sale_status_idx').on(t.saleId, t.status),
    index('orders_sale_user_idx').on(t.saleId, t.userId),
    // A paid order was a confirmed one: it still blocks a second order for the same key.
    uniqueIndex('orders_held_idempotency_key_idx')
      .on(t.saleId, t.userId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} IS NOT NULL AND ${t.status} IN ('confirmed', 'paid')`),
    // What the expiry sweep looks for: confirmed orders whose window has passed...
    index('orders_unpaid_pay_by_idx')
      .on(t.payBy)
      .where(sql`${t.status} = 'confirmed' AND ${t.payBy} IS NOT NULL`),
    // ...and returns that a crash left unfinished.
    index('orders_return_pending_idx')
      .on(t.saleId)
      .where(sql`${t.status} IN ('expired', 'cancelled') AND ${t.returnedAt} IS NULL`),
  ],
);

// Units each buyer was sold per sale, with the sale's limit copied in, so the database
// refuses a buyer above perUserLimit even if the gate were wrong.
export const saleBuyers = pgTable(
  'sale_buyers',
  {
    saleId: saleRef().notNull(),
    userId: text('user_id').notNull(),
    units: integer('units').notNull(),
    unitLimit: integer('unit_limit').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.saleId, t.userId] }),
    check('sale_buyers_within_limit', sql`${t.units} >= 0 AND ${t.units} <= ${t.unitLimit}`),
  ],
);

// A bytea column read and written as a Buffer.
const bytes = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

// A sale's waiting room (API.md, "Waiting room"; docs/waiting-room.md): its settings, and
// what must survive Redis forgetting the line: the prequeue's draw, the admission cursor, the
// passes' batches and the places given up. Redis holds the live line; this row is where it is
// rebuilt from.
export const waitingRooms = pgTable(
  'waiting_rooms',
  {
    saleId: saleRef().primaryKey(),
    opensAt: timestamp('opens_at', { withTimezone: true }).notNull(),
    passSeconds: integer('pass_seconds').notNull(),
    idleSeconds: integer('idle_seconds').notNull(),
    admitPerSecond: integer('admit_per_second'),
    // The highest place number handed out, as last written by the admitter.
    joined: bigint('joined', { mode: 'number' }).notNull().default(0),
    // The prequeue's size and its drawn order (rank -> place, uint32 little-endian), written
    // once: null until the draw at startsAt.
    drawnSize: bigint('drawn_size', { mode: 'number' }),
    drawnOrder: bytes('drawn_order'),
    // Every rank up to here has been admitted; only ever raised.
    admittedTo: bigint('admitted_to', { mode: 'number' }).notNull().default(0),
    admitted: bigint('admitted', { mode: 'number' }).notNull().default(0),
    // Unexpired admission batches: [rank admitted to, pass expiry ms, passes].
    batches: jsonb('batches').$type<[number, number, number][]>().notNull().default([]),
    // Places given up (left or idle), one bit per place number.
    gone: bytes('gone'),
    ...timestamps,
  },
  (t) => [
    check('waiting_rooms_pass_range', sql`${t.passSeconds} BETWEEN 30 AND 3600`),
    check('waiting_rooms_idle_range', sql`${t.idleSeconds} BETWEEN 10 AND 600`),
  ],
);

// Orders per sale and status, kept by a statement-level trigger on orders
// (migrations/0007_sale_operations.sql), so the admin's live counts read six rows, never scan
// the sale's orders.
export const saleOrderCounts = pgTable(
  'sale_order_counts',
  {
    saleId: saleRef().notNull(),
    status: text('status', { enum: orderStatuses }).notNull(),
    orders: bigint('orders', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.saleId, t.status] })],
);

// Every change an admin made to a sale: who, when, and its fields before and after
// (docs/operations.md). Written in the transaction that changes the sale.
export const saleChanges = pgTable(
  'sale_changes',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    saleId: saleRef().notNull(),
    actor: text('actor').notNull(),
    action: text('action', { enum: ['pause', 'resume', 'update'] }).notNull(),
    before: jsonb('before').notNull(),
    after: jsonb('after').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('sale_changes_sale_idx').on(t.saleId, t.id)],
);

// The transactional outbox of order events (API.md, Order events; docs/order-events.md): a
// trigger on orders (migrations/0008_order_events.sql) writes one row per change of status in
// the transaction that changes it, whichever code path did; the relay publishes and marks it.
// The row's id is the event's id, so a repeat of a publish or a delivery carries the same one.
export const orderEvents = pgTable(
  'order_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    orderId: text('order_id').notNull(),
    saleId: bigint('sale_id', { mode: 'number' }).notNull(),
    // The order as it was in that change: the event shows the order with its new status.
    status: text('status', { enum: orderStatuses }).notNull(),
    userId: text('user_id').notNull(),
    quantity: integer('quantity').notNull(),
    reason: text('reason'),
    payBy: timestamp('pay_by', { withTimezone: true }),
    orderCreatedAt: timestamp('order_created_at', { withTimezone: true }).notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
    publishedAt: timestamp('published_at', { withTimezone: true }),
  },
  (t) => [
    // What the relay reads: the rows still to publish, oldest first.
    index('order_events_unpublished_idx')
      .on(t.id)
      .where(sql`${t.publishedAt} IS NULL`),
  ],
);

export type Sale = typeof sales.$inferSelect;
export type WaitingRoom = typeof waitingRooms.$inferSelect;
export type Order = typeof orders.$inferSelect;
export type OrderEvent = typeof orderEvents.$inferSelect;
