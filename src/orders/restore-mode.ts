import type { OrderStatus } from '../db/schema.js';
import type { RestoreMode } from '../gate/outcomes.js';

// How a reservation Redis forgot is re-created from its order's row: Redis counts an order's
// units exactly while its reservation is P, C or F, so a row whose units are still held comes
// back as F (taking them), a row whose units were given back as a tombstone R. A pending row
// has no final word yet: its job re-reserves (null).
export function restoreModeOf(status: OrderStatus): Exclude<RestoreMode, 'claim'> | null {
  switch (status) {
    case 'confirmed':
    case 'paid':
      return 'confirmed';
    case 'failed':
    case 'expired':
    case 'cancelled':
      return 'failed';
    case 'pending':
      return null;
  }
}
