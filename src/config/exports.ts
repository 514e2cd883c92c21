import { int } from './fields.js';

// The order export (GET /admin/sales/:saleId/orders; docs/operations.md, Order export).
export const exportGroups = {
  export: {
    // Exports one API process streams at once. Each holds a connection of the PG_POOL_MAX
    // pool (and a snapshot) for as long as its client reads; past this, 429 with Retry-After.
    EXPORT_MAX_CONCURRENT: int(2, 1),
    // Orders fetched from the cursor per round trip, and written as one chunk.
    EXPORT_BATCH_ROWS: int(500, 1),
    // A client that takes no bytes for this long is cut off: its export would otherwise hold
    // the connection and the snapshot as long as its socket stays open.
    EXPORT_STALL_SECONDS: int(60, 1),
  },
};
