import type { Client } from './system.js';

// The waiting room's calls (API.md, "Waiting room"), as a buyer makes them.
export function roomClient(api: Client) {
  const headers = (buyer: string, extra: Record<string, string | undefined> = {}) => {
    const defined = Object.entries(extra).filter((e): e is [string, string] => e[1] !== undefined);
    return { ...api.buyerHeaders(buyer), ...Object.fromEntries(defined) };
  };
  return {
    join: (saleId: number, buyer: string, ticket?: string) =>
      api.raw('POST', `/sales/${saleId}/queue`, headers(buyer, { 'x-queue-ticket': ticket })),
    poll: (saleId: number, buyer: string, ticket?: string) =>
      api.raw('GET', `/sales/${saleId}/queue`, headers(buyer, { 'x-queue-ticket': ticket })),
    leave: (saleId: number, buyer: string, ticket?: string) =>
      api.raw('DELETE', `/sales/${saleId}/queue`, headers(buyer, { 'x-queue-ticket': ticket })),
    buy: (saleId: number, buyer: string, pass?: string) =>
      api.purchase(
        saleId,
        buyer,
        { quantity: 1 },
        pass === undefined ? {} : { 'x-queue-pass': pass },
      ),
  };
}

// Settings that make a room move within a test's seconds.
export const fastRoom = { ROOM_TICK_MS: '100', ROOM_VIEW_MS: '100', ROOM_LEASE_MS: '1000' };

export const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();
