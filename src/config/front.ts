import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { identityAlgorithms, int, isCidr, list, metricsPort, unsetWhenEmpty } from './fields.js';

// The groups of the front door: the process itself, its HTTP listeners, the API, and who may
// come in (admin token, buyer tokens, proof of work, challenge limits). Each variable is named
// once, as it is in the environment (src/config.ts says how its field is named).
export const frontGroups = {
  process: {
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    SHUTDOWN_TIMEOUT_MS: int(10_000, 100),
    // CPU niceness of the bridge, the worker and the compensator (0 = the API's). At 2,000
    // orders/s with the drain beside the API on two cores, 10 took the accepted path's p99 from
    // a median of 55 ms to 36 ms (bench/README.md, (d)); on hosts of their own it changes nothing.
    DRAIN_NICE: int(10).pipe(z.number().max(19)),
  },
  // Every HTTP listener: the API's, and the /metrics of the other processes.
  http: {
    HOST: z.string().default('0.0.0.0'),
    PORT: int(3000),
    BRIDGE_PORT: metricsPort,
    WORKER_PORT: metricsPort,
    COMPENSATOR_PORT: metricsPort,
    EVENTS_PORT: metricsPort,
    // Proxies whose X-Forwarded-For names the client (CIDRs, comma-separated); without them
    // the client is the socket's peer.
    TRUSTED_PROXIES: unsetWhenEmpty(
      z
        .string()
        .transform(list)
        .pipe(z.array(z.string().refine(isCidr, 'a list of CIDRs'))),
    ).transform((proxies) => proxies ?? []),
  },
  api: {
    // Connections the kernel may hold completed for the API before it accepts them (the kernel
    // caps it at net.core.somaxconn). Node's default, 511, is smaller than a crowd that connects
    // at once: past it the kernel drops the buyer's SYN and the browser tries again a whole
    // second later.
    API_LISTEN_BACKLOG: int(4096, 1),
    // API processes sharing PORT (node:cluster); 0 = one per core. A Node process answers on one
    // core, so a host with more cores needs more processes to use them.
    API_PROCESSES: int(1).transform((n) => (n === 0 ? availableParallelism() : n)),
    // Sold-out flags are re-read from Redis this often even without an event, bounding how long
    // a change made outside the scripts could go unseen.
    SALE_CACHE_REFRESH_MS: int(1000, 10),
    // What an API process may hold of tokens it verified before (buyers' JWTs and waiting-room
    // tickets, half each), so that a repeat costs no HMAC or signature check. 0 = a quarter of
    // V8's heap limit (a waiting room's crowd of a million, with room to spare below
    // ADMISSION_HEAP_MAX), or of the host's memory shared by API_PROCESSES when less
    // (docs/waiting-room.md, "Memory").
    API_VERIFIED_CACHE_MB: int(0),
  },
  auth: {
    ADMIN_TOKEN: z.string().min(8).default('flashline-dev-admin'),
  },
  // Buyer tokens: HS256 with JWT_SECRET, or an identity provider's key set (API.md, "Buyer
  // identity from an identity provider"; docs/security.md).
  jwt: {
    // Unset: 'flashline-dev-secret', unless JWT_JWKS_URL names an identity provider.
    JWT_SECRET: unsetWhenEmpty(z.string().min(8)),
    JWT_JWKS_URL: unsetWhenEmpty(z.string().url()),
    JWT_ISSUER: unsetWhenEmpty(z.string().min(1)),
    // One audience, or several separated by commas: a token naming any of them is accepted.
    JWT_AUDIENCE: unsetWhenEmpty(z.string().min(1).transform(list)),
    JWT_ALGORITHMS: unsetWhenEmpty(
      z
        .string()
        .transform(list)
        .pipe(z.array(z.enum(identityAlgorithms)).min(1)),
    ),
    // A token with a kid the cached key set lacks fetches the set again at most this often.
    JWT_JWKS_COOLDOWN_SECONDS: int(30, 1),
    // The key set is fetched again in the background once it is this old...
    JWT_JWKS_MAX_AGE_SECONDS: int(600, 1),
    // ...and, while the provider cannot be reached, its last copy is trusted this long.
    JWT_JWKS_MAX_STALE_SECONDS: int(24 * 3600, 1),
    JWT_JWKS_TIMEOUT_MS: int(5_000, 100),
    // Slack granted to exp and nbf for the provider's clock against ours.
    JWT_CLOCK_TOLERANCE_SECONDS: int(30).pipe(z.number().max(300)),
  },
  // Proof of work (API.md; src/pow/): what an attempt costs a client.
  pow: {
    // Signs proof-of-work challenges. The default is for development only.
    POW_SECRET: z.string().min(16).default('flashline-dev-proof-of-work'),
    POW_CHALLENGE_SECONDS: int(120, 10).pipe(z.number().max(3600)),
    // PBKDF2 iterations per attempt (ALTCHA's cost), from a quiet sale to a crowded one...
    POW_MIN_COST: int(50, 1),
    POW_MAX_COST: int(500, 1),
    // ...and the attempts a solution takes on average: a challenge costs its solver about
    // POW_ATTEMPTS x cost iterations, and the server one derivation of `cost` to issue it.
    POW_ATTEMPTS: int(8000, 2),
    // Challenges issued per second for one sale, over every API process, at which the cost
    // reaches POW_MAX_COST; from none up to it the cost rises in a straight line.
    POW_CROWD_RATE: int(500, 1),
  },
  // Challenges one buyer, and one client address, may ask of one sale per window (0: no
  // limit). The address limit is generous: a campus or a carrier shares one address.
  challenge: {
    CHALLENGE_BUYER_LIMIT: int(20),
    CHALLENGE_ADDRESS_LIMIT: int(1000),
    CHALLENGE_LIMIT_WINDOW_SECONDS: int(10, 1),
  },
} satisfies Record<string, z.ZodRawShape>;
