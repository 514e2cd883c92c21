import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

// Lowers this process's CPU priority to `nice` (0 = leave it). Linux keeps a niceness per
// thread and os.setPriority(0, n) changes only the calling one, so every thread started so
// far (V8's and libuv's) is set by its id; threads started later inherit the main thread's.
// Elsewhere the process as a whole is set. A priority is only ever lowered: a process already
// started nicer (by `nice`, say) keeps its own, and raising it would need privileges.
// Returns the main thread's niceness afterwards.
export function lowerPriority(nice: number): number {
  if (nice > 0) {
    for (const thread of threadIds()) {
      try {
        if (getPriority(thread) < nice) setPriority(thread, nice);
      } catch {
        // The thread ended between listing and setting it.
      }
    }
  }
  return getPriority(0);
}

function threadIds(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [0];
  }
}
