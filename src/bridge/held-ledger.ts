import type { OrderJobData } from '../orders/queue.js';

// A message whose jobs are stored, kept unacked until every order in it has its row.
export type Held<Channel, Message> = {
  readonly channel: Channel;
  readonly message: Message;
  readonly orders: readonly OrderJobData[];
  readonly unsettled: ReadonlySet<string>;
  readonly addedAt: number;
};

type Entry<Channel, Message> = Held<Channel, Message> & {
  unsettled: Set<string>;
  addedAt: number;
};

// The bridge's held messages, in delivery order and by order id. An order delivered twice is
// held by both of its messages; a message leaves once none of its orders is unsettled. Pure:
// the bridge acks what settle() hands back, and this never touches a channel.
export class HeldLedger<Channel, Message> {
  private readonly entries = new Set<Entry<Channel, Message>>();
  private readonly byOrder = new Map<string, Entry<Channel, Message>[]>();

  // Messages held.
  get size(): number {
    return this.entries.size;
  }

  // Orders held, counted once per message holding them.
  get orders(): number {
    let orders = 0;
    for (const entry of this.entries) orders += entry.unsettled.size;
    return orders;
  }

  hold(channel: Channel, message: Message, orders: readonly OrderJobData[], addedAt: number) {
    const unsettled = new Set(orders.map((o) => o.orderId));
    const entry: Entry<Channel, Message> = { channel, message, orders, unsettled, addedAt };
    this.entries.add(entry);
    for (const id of unsettled) {
      const holders = this.byOrder.get(id);
      if (holders) holders.push(entry);
      else this.byOrder.set(id, [entry]);
    }
  }

  // These orders have their rows: returns the messages that now hold nothing else, which
  // leave the ledger (the caller acks them).
  settle(orderIds: Iterable<string>): Held<Channel, Message>[] {
    const done: Held<Channel, Message>[] = [];
    for (const id of orderIds) {
      const holders = this.byOrder.get(id);
      if (!holders) continue;
      this.byOrder.delete(id);
      for (const entry of holders) {
        entry.unsettled.delete(id);
        if (entry.unsettled.size === 0 && this.entries.delete(entry)) done.push(entry);
      }
    }
    return done;
  }

  // Forgets the messages held on any other channel: a closed channel's are redelivered.
  keepOnly(channel: Channel): void {
    for (const entry of [...this.entries]) if (entry.channel !== channel) this.forget(entry);
  }

  // The unsettled orders of the messages held longer than `heldBefore`, oldest first, at most
  // `max` (a message is never split, so up to one message's orders more).
  unsettledSince(heldBefore: number, max: number): string[] {
    const ids: string[] = [];
    for (const entry of this.entries) {
      if (entry.addedAt > heldBefore || ids.length >= max) break;
      for (const id of entry.unsettled) ids.push(id);
    }
    return ids;
  }

  // Whether a message has been held since `time` or earlier.
  heldSince(time: number): boolean {
    for (const entry of this.entries) if (entry.addedAt <= time) return true;
    return false;
  }

  // The messages held now, oldest first.
  snapshot(): Held<Channel, Message>[] {
    return [...this.entries];
  }

  // The jobs of these messages were added again at `time`.
  readded(held: readonly Held<Channel, Message>[], time: number): void {
    for (const entry of held) (entry as Entry<Channel, Message>).addedAt = time;
  }

  private forget(entry: Entry<Channel, Message>): void {
    this.entries.delete(entry);
    for (const id of entry.unsettled) {
      const holders = this.byOrder.get(id)?.filter((other) => other !== entry);
      if (holders?.length) this.byOrder.set(id, holders);
      else this.byOrder.delete(id);
    }
  }
}

// The orders of these messages still without their rows.
export function unsettledOrders<C, M>(held: readonly Held<C, M>[]): OrderJobData[] {
  return held.flatMap((h) => h.orders.filter((o) => h.unsettled.has(o.orderId)));
}
