import type { OrderCursor } from '../db/order-cursor.js';
import { orderView } from './order-view.js';
import { orderFields } from './openapi/schemas.js';

export const exportFormats = ['ndjson', 'csv'] as const;
export type ExportFormat = (typeof exportFormats)[number];

export const exportContentTypes: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
};

// RFC 4180: a cell holding a comma, a quote or a line break is quoted, its quotes doubled.
function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const csvHeader = `${orderFields.join(',')}\r\n`;

function lines(format: ExportFormat, batch: Awaited<ReturnType<OrderCursor['next']>>): string {
  let text = '';
  for (const row of batch) {
    const view = orderView(row);
    if (format === 'ndjson') {
      text += `${JSON.stringify(view)}\n`;
    } else {
      const record = view as Record<string, unknown>;
      text += `${orderFields.map((field) => csvCell(record[field])).join(',')}\r\n`;
    }
  }
  return text;
}

export type ExportOutcome = { rows: number; result: 'done' | 'cancelled' | 'stalled' | 'failed' };

// The answer's body: a web stream that reads one batch from the cursor each time the server
// asks for a chunk. @hono/node-server asks only once the socket took the last one (it waits for
// 'drain'), so a slow client slows the cursor instead of filling the process's memory; one that
// takes nothing for `stallMs` is cut off, and a client gone cancels the stream. `done` is
// called once, however the export ends, after the cursor is closed.
export function orderExportBody(
  cursor: OrderCursor,
  options: {
    format: ExportFormat;
    batchRows: number;
    stallMs: number;
    done: (outcome: ExportOutcome, error?: unknown) => void;
    // Cuts the connection (the Node response's destroy). Erroring the stream instead would
    // have @hono/node-server log the error and write its message into the body.
    abort?: () => void;
  },
): ReadableStream<Uint8Array> {
  const { format, batchRows, stallMs } = options;
  const encoder = new TextEncoder();
  let rows = 0;
  let ended = false;
  let stall: NodeJS.Timeout | undefined;
  const end = async (result: ExportOutcome['result'], error?: unknown) => {
    clearTimeout(stall);
    if (ended) return;
    ended = true;
    await cursor.close().catch(() => undefined);
    options.done({ rows, result }, error);
  };
  let queue: ReadableStreamDefaultController<Uint8Array> | undefined;
  // The answer is cut off mid-body: the client sees a broken transfer, never a short file.
  const cut = (error: unknown) => (options.abort ? options.abort() : queue?.error(error));
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        queue = controller;
        if (format === 'csv') controller.enqueue(encoder.encode(csvHeader));
      },
      async pull(controller) {
        clearTimeout(stall);
        try {
          const batch = await cursor.next(batchRows);
          if (batch.length === 0) {
            await end('done');
            controller.close();
            return;
          }
          rows += batch.length;
          controller.enqueue(encoder.encode(lines(format, batch)));
        } catch (error) {
          await end('failed', error);
          cut(error);
          return;
        }
        stall = setTimeout(() => {
          void end('stalled').then(() => cut(new Error('export client stalled')));
        }, stallMs);
      },
      async cancel() {
        await end('cancelled');
      },
    },
    // One chunk waits while the previous one is written: a batch is all the export holds.
    { highWaterMark: 1 },
  );
}
