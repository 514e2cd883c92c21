import type { Config } from '../config.js';

// FAULT_KILL_AFTER_EXPIRY_COMMIT: the process dies as a crash would, with nothing flushed.
export function expiryCommitFault(config: Config): (() => void) | undefined {
  if (!config.fault.killAfterExpiryCommit) return undefined;
  return () => process.kill(process.pid, 'SIGKILL');
}
