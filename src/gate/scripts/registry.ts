import type { RedisClient } from '../../redis/connection.js';
import { luaSource } from './lua-source.js';

// The scripts in lua/, by the name the gate calls them; each file's name ends with its key
// count (BullMQ's convention), so every call is routed by its first key, on a cluster too.
export const scriptFiles = {
  reserve: 'reserve-7',
  retarget: 'retarget-1',
  claim: 'claim-1',
  confirm: 'confirm-1',
  release: 'release-4',
  returnUnits: 'return-4',
  restore: 'restore-3',
  loadSale: 'load-sale-1',
  changeSale: 'change-sale-1',
  unlock: 'unlock-1',
  repairRemaining: 'repair-remaining-2',
  take: 'take-2',
  giveBack: 'give-back-2',
  repairShard: 'repair-shard-2',
  roomJoin: 'room-join-5',
  roomLeave: 'room-leave-3',
  roomSeen: 'room-seen-4',
  roomRestore: 'room-restore-4',
  roomLease: 'room-lease-1',
  roomAdvance: 'room-advance-6',
  roomTend: 'room-tend-5',
  roomUse: 'room-use-3',
} as const;

export type ScriptName = keyof typeof scriptFiles;

export const scriptNames = Object.keys(scriptFiles).filter(
  (name): name is ScriptName => name in scriptFiles,
);

// Where the scripts run: a connection, and the deployment's key prefix and sale events channel
// (src/gate/keys.ts), from which each call builds its keys.
export type ScriptTarget = { redis: RedisClient; prefix: string; channel: string };

type Script = { command: string; lua: string; numberOfKeys: number };

// Read from lua/ on first use, once per process.
let scripts: Map<ScriptName, Script> | null = null;

function scriptOf(name: ScriptName): Script {
  if (!scripts) {
    scripts = new Map();
    for (const key of scriptNames) {
      const file = scriptFiles[key];
      scripts.set(key, {
        command: `fl${key[0]?.toUpperCase()}${key.slice(1)}`,
        lua: luaSource(`${file}.lua`),
        numberOfKeys: Number(file.slice(file.lastIndexOf('-') + 1)),
      });
    }
  }
  const script = scripts.get(name);
  if (!script) throw new Error(`no script ${name}`);
  return script;
}

// Every script as a command of the connection, at once: defineCommand sends EVALSHA and falls
// back to EVAL with the script itself on NOSCRIPT, which is the fallback the original system
// got wrong. All before the first call: an autopipeline copies the commands defined when it
// is created, and would not have one defined later in the same tick.
export function defineScripts(redis: RedisClient): void {
  for (const name of scriptNames) {
    const { command, lua, numberOfKeys } = scriptOf(name);
    if (!(command in redis)) redis.defineCommand(command, { lua, numberOfKeys });
  }
}

// One script call; the reply is for ../outcomes.ts to decode.
export async function runScript(
  { redis }: ScriptTarget,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number | Buffer)[],
): Promise<unknown> {
  const { command, numberOfKeys } = scriptOf(name);
  if (keys.length !== numberOfKeys) {
    throw new Error(`${scriptFiles[name]} takes ${numberOfKeys} keys, was given ${keys.length}`);
  }
  if (!(command in redis)) defineScripts(redis);
  const call: unknown = Reflect.get(redis, command);
  if (typeof call !== 'function') throw new Error(`${command} is not a command of this client`);
  const reply: unknown = await Reflect.apply(call, redis, [...keys, ...args]);
  return reply;
}
