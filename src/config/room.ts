import { z } from 'zod';
import { int } from './fields.js';

// The waiting room (API.md, "Waiting room"; docs/waiting-room.md). QUEUE_PASS_SECRET and
// WAITING_ROOM_OVERBOOK are the contract's names, kept whole under the group `room`.
export const roomGroups = {
  room: {
    // Signs tickets and passes (HMAC-SHA256). The default is for development only.
    QUEUE_PASS_SECRET: z.string().min(16).default('flashline-dev-queue-pass'),
    // Unused, unexpired passes are at most remaining x this.
    WAITING_ROOM_OVERBOOK: z.coerce.number().min(1).max(100).default(2),
    // Each API process reads each room's state this often; a poll is answered from it.
    ROOM_VIEW_MS: int(500, 50),
    // The admitter moves the cursor this often...
    ROOM_TICK_MS: int(250, 20),
    // ...under a lease another API process takes over once it is this old.
    ROOM_LEASE_MS: int(3_000, 200),
    // The outflow of a room without admitPerSecond while no API process publishes an
    // adaptive admission limit (ADMISSION=off), and the ceiling of the adaptive one.
    ROOM_ADMIT_PER_SECOND: int(1000, 1),
    // What a place asks the client to wait before its next poll; the adaptive outflow does
    // not grow within it of the start (no admitted buyer has polled back to buy yet).
    ROOM_POLL_AFTER_MS: int(2_000, 100),
  },
} satisfies Record<string, z.ZodRawShape>;
