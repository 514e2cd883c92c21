import { z } from 'zod';
import { int, unsetWhenEmpty } from './fields.js';

// Order events (API.md, Order events; docs/order-events.md): the outbox relay and the webhook
// dispatcher, both run by the `events` process.
export const eventsGroups = {
  events: {
    // Where every event is POSTed as a Standard Webhook; unset, events go to RabbitMQ only.
    EVENTS_WEBHOOK_URL: unsetWhenEmpty(z.string().url()),
    // Standard Webhooks secret: `whsec_` and base64. The default is for development only.
    EVENTS_WEBHOOK_SECRET: z
      .string()
      .regex(/^(whsec_)?[A-Za-z0-9+/]{16,}={0,2}$/, 'whsec_ followed by base64')
      .default('whsec_Zmxhc2hsaW5lLWRldi1ldmVudHMtc2VjcmV0'),
    // Deliveries of one event before it goes to the dead letters. With the delay doubling from
    // a second up to the cap, 20 attempts span about an hour at the default cap.
    EVENTS_WEBHOOK_ATTEMPTS: int(20, 1),
    EVENTS_WEBHOOK_MAX_DELAY_SECONDS: int(300, 1),
    // A receiver that has not answered within this long counts as a failed attempt.
    EVENTS_WEBHOOK_TIMEOUT_MS: int(10_000, 100),
    // Deliveries in flight at once.
    EVENTS_WEBHOOK_CONCURRENCY: int(16, 1),
    // Events per webhook job (one BullMQ job delivers a part of a relay batch, in id order):
    // fewer jobs cost less CPU per event; a dispatcher that dies mid-job sends the job's
    // delivered events again.
    EVENTS_WEBHOOK_BATCH: int(100, 1),
    // Outbox rows the relay publishes per transaction, and how long it sleeps when it found
    // none (the floor of an event's lag when the sale is quiet).
    EVENTS_RELAY_BATCH: int(500, 1),
    EVENTS_RELAY_IDLE_MS: int(25, 1),
    // After a batch that was not full, the least time from one pass's start to the next's:
    // at a sale's rate each pass then carries more rows for its fixed cost (round trips,
    // a job, a round of confirms), for at most this much more lag.
    EVENTS_RELAY_INTERVAL_MS: int(100, 1),
    // CPU niceness of the events process, above DRAIN_NICE: on a host shared with the drain,
    // events wait for CPU rather than slow the group commit (bench/README.md, order events).
    EVENTS_NICE: int(15).pipe(z.number().max(19)),
    // While the drain has at least EVENTS_YIELD_BACKLOG orders waiting in BullMQ (read every
    // EVENTS_YIELD_CHECK_MS), the webhook dispatcher holds its jobs until the drain caught up
    // or the job's oldest event is EVENTS_YIELD_MAX_MS old: on a host they share, the group
    // commit gets the CPU first, and an event's lag grows by that much at most. 0 never holds.
    EVENTS_YIELD_BACKLOG: int(500, 1),
    EVENTS_YIELD_CHECK_MS: int(100, 10),
    EVENTS_YIELD_MAX_MS: int(15_000, 0),
    // Published rows are deleted after this long (0 keeps them).
    EVENTS_RETENTION_HOURS: int(168),
  },
} satisfies Record<string, z.ZodRawShape>;
