import { readFileSync } from 'node:fs';
import type { RedisClient } from '../redis/connection.js';

type Reply = string | number | null | Reply[];

// Names and key counts of the scripts in lua/; the file name carries the key count, or `n`
// when each call says how many keys it passes (its first argument).
const scripts = {
  flReserve: 'reserve-7',
  flClaim: 'claim-n',
  flConfirm: 'confirm-n',
  flRelease: 'release-4',
  flLoadSale: 'load-sale-1',
  flRepairRemaining: 'repair-remaining-2',
  flRestore: 'restore-n',
  flUnlock: 'unlock-1',
  flReturn: 'return-4',
  flTake: 'take-2',
  flGiveBack: 'give-back-2',
  flRetarget: 'retarget-1',
  flRepairShard: 'repair-shard-2',
} as const;

export type ScriptName = keyof typeof scripts;
export type ScriptedRedis = RedisClient & {
  [K in ScriptName]: (...keysThenArgs: (string | number)[]) => Promise<Reply>;
};

// The scripts whose first argument is their key count rather than a key.
export const variableKeyScripts: readonly ScriptName[] = (
  Object.entries(scripts) as [ScriptName, string][]
)
  .filter(([, file]) => file.endsWith('-n'))
  .map(([name]) => name);

const luaDir = new URL('../../lua/', import.meta.url);
const sources = new Map<ScriptName, { lua: string; numberOfKeys: number | undefined }>();
for (const [name, file] of Object.entries(scripts) as [ScriptName, string][]) {
  const count = file.slice(file.lastIndexOf('-') + 1);
  const numberOfKeys = count === 'n' ? undefined : Number(count);
  sources.set(name, { lua: readFileSync(new URL(`${file}.lua`, luaDir), 'utf8'), numberOfKeys });
}

// defineCommand sends EVALSHA and falls back to EVAL with the script itself on NOSCRIPT,
// which is the fallback the original system got wrong.
export function withScripts(redis: RedisClient): ScriptedRedis {
  for (const [name, { lua, numberOfKeys }] of sources) {
    if (!(name in redis)) redis.defineCommand(name, { lua, numberOfKeys });
  }
  return redis as ScriptedRedis;
}
