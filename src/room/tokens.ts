import { createHmac, timingSafeEqual } from 'node:crypto';
import { verifiedCache } from '../auth/verified-cache.js';

// What a ticket names: the buyer's place in one sale's line. It never carries admission: the
// room's cursor decides that (docs/waiting-room.md).
export type Ticket = { saleId: number; place: number; joinedAtMs: number; admitted: boolean };

// What a pass grants: purchases of one sale by one buyer until `expiresAtMs`. `rank` and the
// expiry name the admission batch it came from, so its first use is counted once.
export type Pass = { saleId: number; rank: number; expiresAtMs: number };

const digits = /^[0-9]{1,16}$/;

// Tickets and passes are HMAC-SHA256 under keys derived from QUEUE_PASS_SECRET, one per kind,
// so a ticket is never read as a pass. The buyer is inside the MAC, not in the token: a token
// presented by another buyer fails its check. Verified in memory: no Redis round trip.
export class RoomTokens {
  private readonly ticketKey: Buffer;
  private readonly passKey: Buffer;
  // Per buyer, the last ticket this process signed for them or found signed for them, with
  // its numbers. A page polls with the same ticket every time, and its check was an HMAC
  // (about 9 µs of a poll's 190): the same token from the same buyer needs no second check,
  // any other token still gets one.
  // Bounded by bytes (cacheBytes, ../auth/verified-cache.ts): a room's whole crowd, at best.
  private readonly verifiedTickets;
  // MACs computed so far (signed and checked): what the cache above saves, for tests.
  macs = 0;

  constructor(secret: string, cacheBytes: number) {
    this.verifiedTickets = verifiedCache<{ token: string; fields: number[] }>(
      cacheBytes,
      'ticket',
      (buyer, known) => buyer.length + known.token.length,
    );
    this.ticketKey = createHmac('sha256', secret).update('flashline room ticket v1').digest();
    this.passKey = createHmac('sha256', secret).update('flashline room pass v1').digest();
  }

  ticket(buyer: string, ticket: Ticket): string {
    const fields = [ticket.saleId, ticket.place, ticket.joinedAtMs, ticket.admitted ? 1 : 0];
    const token = this.sign(this.ticketKey, buyer, fields.join('.'));
    this.rememberTicket(buyer, token, fields);
    return token;
  }

  readTicket(buyer: string, saleId: number, token: string | undefined): Ticket | null {
    const known = this.verifiedTickets.get(buyer);
    let fields: number[] | null;
    if (token !== undefined && known?.token === token) fields = known.fields;
    else {
      fields = this.open(this.ticketKey, buyer, token, 4);
      if (fields) this.rememberTicket(buyer, token!, fields);
    }
    if (!fields || fields[0] !== saleId || fields[1]! < 1) return null;
    return { saleId, place: fields[1]!, joinedAtMs: fields[2]!, admitted: fields[3] === 1 };
  }

  pass(buyer: string, pass: Pass): string {
    return this.sign(this.passKey, buyer, `${pass.saleId}.${pass.rank}.${pass.expiresAtMs}`);
  }

  // The pass when it is this buyer's, for this sale, and unexpired at `nowMs`; else null.
  readPass(buyer: string, saleId: number, token: string | undefined, nowMs: number): Pass | null {
    const fields = this.open(this.passKey, buyer, token, 3);
    if (!fields || fields[0] !== saleId || fields[2]! <= nowMs) return null;
    return { saleId, rank: fields[1]!, expiresAtMs: fields[2]! };
  }

  private rememberTicket(buyer: string, token: string, fields: number[]): void {
    this.verifiedTickets.set(buyer, { token, fields });
  }

  private sign(key: Buffer, buyer: string, body: string): string {
    return `${body}.${this.mac(key, buyer, body).toString('base64url')}`;
  }

  private mac(key: Buffer, buyer: string, body: string): Buffer {
    this.macs++;
    // Length-prefixed, so no buyer id can run into the body.
    return createHmac('sha256', key).update(`${buyer.length}:${buyer}|${body}`).digest();
  }

  // The token's numbers when its MAC is right for this buyer, else null.
  private open(
    key: Buffer,
    buyer: string,
    token: string | undefined,
    count: number,
  ): number[] | null {
    if (token === undefined || token.length > 256) return null;
    const cut = token.lastIndexOf('.');
    if (cut < 0) return null;
    const body = token.slice(0, cut);
    const parts = body.split('.');
    if (parts.length !== count || !parts.every((part) => digits.test(part))) return null;
    const given = Buffer.from(token.slice(cut + 1), 'base64url');
    const expected = this.mac(key, buyer, body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    return parts.map(Number);
  }
}
