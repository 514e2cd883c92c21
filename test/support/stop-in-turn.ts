// The afterAll (or afterEach) of a test file that started its pieces itself: each stopped,
// closed, disconnected or ended in the order given, whatever it is, and skipped when it never
// started. A failure stops the rest, as a chain of awaits would.

type Stoppable =
  | { stop: () => Promise<unknown> }
  | { cleanup: () => Promise<unknown> }
  | { close: () => Promise<unknown> }
  | { disconnect: () => unknown }
  | { end: () => Promise<unknown> };

export async function stopInTurn(...parts: (Stoppable | undefined | null)[]): Promise<void> {
  for (const part of parts) {
    if (!part) continue;
    if ('stop' in part) await part.stop();
    else if ('cleanup' in part) await part.cleanup();
    else if ('close' in part) await part.close();
    else if ('disconnect' in part) part.disconnect();
    else await part.end();
  }
}
