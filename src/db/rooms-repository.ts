import { and, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { Database } from './client.js';
import { orders, sales, waitingRooms, type Sale, type WaitingRoom } from './schema.js';

export type NewRoom = {
  saleId: number;
  opensAt: Date;
  passSeconds: number;
  idleSeconds: number;
  admitPerSecond: number | null;
};

export async function insertRoom(db: Database, room: NewRoom): Promise<WaitingRoom> {
  const [row] = await db.insert(waitingRooms).values(room).returning();
  return row!;
}

export async function findRoom(db: Database, saleId: number): Promise<WaitingRoom | null> {
  const [row] = await db.select().from(waitingRooms).where(eq(waitingRooms.saleId, saleId));
  return row ?? null;
}

export type RoomOfSale = { sale: Sale; room: WaitingRoom };

// The rooms whose sale has not ended (or ended within the last minute: every place must be
// told so), with their sales.
export async function listLiveRooms(db: Database): Promise<RoomOfSale[]> {
  const rows = await db
    .select()
    .from(waitingRooms)
    .innerJoin(sales, eq(sales.id, waitingRooms.saleId))
    .where(or(isNull(sales.endsAt), gt(sales.endsAt, sql`now() - interval '1 minute'`)));
  return rows.map((row) => ({ sale: row.sales, room: row.waiting_rooms }));
}

// The drawn order is written once: a second admitter's draw loses, and both read the winner.
export async function saveDraw(
  db: Database,
  saleId: number,
  size: number,
  order: Buffer,
): Promise<{ size: number; order: Buffer }> {
  await db
    .update(waitingRooms)
    .set({ drawnSize: size, drawnOrder: order, updatedAt: new Date() })
    .where(and(eq(waitingRooms.saleId, saleId), isNull(waitingRooms.drawnOrder)));
  const row = await findRoom(db, saleId);
  if (!row?.drawnOrder || row.drawnSize === null) throw new Error(`room ${saleId}: no draw`);
  return { size: row.drawnSize, order: row.drawnOrder };
}

export type RoomProgress = {
  joined: number;
  admittedTo: number;
  admitted: number;
  batches: [number, number, number][];
  gone?: Buffer;
};

// The admitter's step, before Redis sees it: the cursor and the counts only ever rise, so an
// older admitter's late write cannot send the line back.
export async function saveProgress(
  db: Database,
  saleId: number,
  progress: RoomProgress,
): Promise<void> {
  await db
    .update(waitingRooms)
    .set({
      joined: sql`GREATEST(${waitingRooms.joined}, ${progress.joined})`,
      admittedTo: sql`GREATEST(${waitingRooms.admittedTo}, ${progress.admittedTo})`,
      admitted: sql`GREATEST(${waitingRooms.admitted}, ${progress.admitted})`,
      batches: progress.batches,
      ...(progress.gone ? { gone: progress.gone } : {}),
      updatedAt: new Date(),
    })
    .where(eq(waitingRooms.saleId, saleId));
}

// Units that may still come back to a sold-out sale: orders not yet final, and confirmed
// orders still inside a payment window.
export async function unitsThatMayReturn(db: Database, saleId: number): Promise<number> {
  const [row] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(orders)
    .where(
      and(
        eq(orders.saleId, saleId),
        or(
          eq(orders.status, 'pending'),
          and(eq(orders.status, 'confirmed'), sql`${orders.payBy} IS NOT NULL`),
        ),
      ),
    );
  return row?.count ?? 0;
}

// A sale and its room in one transaction: a sale meant to be bought through a line never
// exists without it. Null when the sku is taken.
export async function insertSaleWithRoom(
  db: Database,
  sale: typeof sales.$inferInsert,
  room: Omit<NewRoom, 'saleId'>,
): Promise<{ sale: Sale; room: WaitingRoom } | null> {
  return db.transaction(async (tx) => {
    const [saleRow] = await tx
      .insert(sales)
      .values({ ...sale, waitingRoom: true })
      .onConflictDoNothing({ target: sales.sku })
      .returning();
    if (!saleRow) return null;
    const [roomRow] = await tx
      .insert(waitingRooms)
      .values({ ...room, saleId: saleRow.id })
      .returning();
    return { sale: saleRow, room: roomRow! };
  });
}
