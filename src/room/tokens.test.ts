import { describe, expect, it } from 'vitest';
import { RoomTokens } from './tokens.js';

const secret = 'tokens-test-secret-0123456789';
const ticketOf = (place: number) => ({ saleId: 7, place, joinedAtMs: 1_000, admitted: false });

// The verified-ticket memory must never change an answer, only spare the HMAC of a ticket the
// same buyer showed (or was given) before.
describe('RoomTokens with its memory of verified tickets', () => {
  it('checks a ticket it signed, or verified once, without another MAC', () => {
    const sut = new RoomTokens(secret, 2 ** 20);
    const token = sut.ticket('ann', ticketOf(3));
    const before = sut.macs;
    expect(sut.readTicket('ann', 7, token)).toEqual(ticketOf(3));
    expect(sut.readTicket('ann', 7, token)).toEqual(ticketOf(3));
    expect(sut.macs).toBe(before);

    const other = new RoomTokens(secret, 2 ** 20);
    expect(other.readTicket('ann', 7, token)).toEqual(ticketOf(3));
    expect(other.readTicket('ann', 7, token)).toEqual(ticketOf(3));
    expect(other.macs).toBe(1);
  });

  it("still refuses another buyer's ticket, a forged one and another sale's", () => {
    const sut = new RoomTokens(secret, 2 ** 20);
    const token = sut.ticket('ann', ticketOf(3));
    expect(sut.readTicket('ann', 7, token)).not.toBeNull();
    expect(sut.readTicket('bob', 7, token)).toBeNull();
    // The place changed, the MAC kept: not a ticket.
    const moved = token.replace(/^7\.3\./, '7.1.');
    expect(sut.readTicket('ann', 7, moved)).toBeNull();
    expect(sut.readTicket('ann', 8, token)).toBeNull();
    const forged = new RoomTokens('another-secret-0123456789', 2 ** 20).ticket('ann', ticketOf(1));
    expect(sut.readTicket('ann', 7, forged)).toBeNull();
    // Refusals left the buyer's own ticket as it was.
    expect(sut.readTicket('ann', 7, token)).toEqual(ticketOf(3));
  });

  it("takes a buyer's newer ticket, checked, and still the older one", () => {
    const sut = new RoomTokens(secret, 2 ** 20);
    const older = sut.ticket('ann', ticketOf(3));
    const newer = new RoomTokens(secret, 2 ** 20).ticket('ann', { ...ticketOf(3), admitted: true });
    expect(sut.readTicket('ann', 7, newer)).toEqual({ ...ticketOf(3), admitted: true });
    expect(sut.readTicket('ann', 7, older)).toEqual(ticketOf(3));
  });

  // A room's crowd polls every few seconds: each poll of a buyer forgotten costs an HMAC.
  it('remembers a crowd larger than 100,000 when its budget holds it', () => {
    const sut = new RoomTokens(secret, 128 * 2 ** 20);
    const crowd = Array.from({ length: 120_000 }, (_, i) => sut.ticket(`b${i}`, ticketOf(i + 1)));
    const before = sut.macs;
    crowd.forEach((token, i) => sut.readTicket(`b${i}`, 7, token));
    expect(sut.macs - before).toBe(0);
  }, 30_000);
});
