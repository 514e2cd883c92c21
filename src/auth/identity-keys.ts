import { createRemoteJWKSet, errors, type JWTVerifyGetKey } from 'jose';
import type { IdentityProviderConfig } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { TransientError } from '../errors/transient-error.js';

export type KeySetOptions = Pick<
  IdentityProviderConfig,
  'jwksUrl' | 'cooldownMs' | 'maxAgeMs' | 'maxStaleMs' | 'timeoutMs'
>;

type RemoteKeySet = ReturnType<typeof createRemoteJWKSet>;

// The identity provider's key set, fetched with jose's createRemoteJWKSet (created once) and
// kept when the provider cannot be reached. jose alone would refetch on every call once the
// set is older than its cacheMaxAge and fail every token while that fetch fails; and its
// cooldown counts from the last fetch that succeeded, so unknown kids during an outage would
// each make a fetch. Here jose never fetches by itself (its cacheMaxAge and cooldown are
// infinite): this class decides, by these rules (docs/security.md):
// - a set older than maxAgeMs is fetched again in the background; tokens meanwhile verify
//   with the set in hand, and keep doing so if the fetch fails, for up to maxStaleMs;
// - a token whose kid the set lacks makes a fetch, at most one per cooldownMs counted from the
//   last attempt, successful or not; concurrent ones share it;
// - with no set fetched, or one older than maxStaleMs, tokens are answered 503, not 401.
export class IdentityKeys {
  private readonly remote: RemoteKeySet;
  private loadedAt = -Infinity;
  private attemptedAt = -Infinity;
  private pending: Promise<boolean> | null = null;

  constructor(
    private readonly options: KeySetOptions,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.remote = createRemoteJWKSet(new URL(options.jwksUrl), {
      timeoutDuration: options.timeoutMs,
      cooldownDuration: Infinity,
      cacheMaxAge: Infinity,
    });
  }

  // The first fetch, not awaited: the API starts even while the provider is away.
  start(): void {
    void this.refresh();
  }

  // jwtVerify's key lookup: the key of the token's kid (a token without one is refused).
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (typeof header.kid !== 'string')
      throw new errors.JWKSNoMatchingKey('the token names no kid');
    if (!this.usable()) await this.refresh();
    if (!this.usable()) {
      throw new TransientError(
        'identity_keys_unavailable',
        "the identity provider's keys are unavailable",
      );
    }
    if (this.now() - this.loadedAt > this.options.maxAgeMs) void this.refresh();
    const seen = this.loadedAt;
    try {
      return await this.remote(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // Another token's fetch may have brought the kid since this lookup began.
      if (!(await this.refresh()) && this.loadedAt === seen) throw error;
      return this.remote(header, token);
    }
  };

  private usable(): boolean {
    return this.now() - this.loadedAt <= this.options.maxStaleMs;
  }

  // Fetches the set unless a fetch is under way (then shares it) or one was attempted within
  // the cooldown; true when a fetch it waited for succeeded.
  private refresh(): Promise<boolean> {
    if (this.pending) return this.pending;
    if (this.now() - this.attemptedAt < this.options.cooldownMs) return Promise.resolve(false);
    this.attemptedAt = this.now();
    const fetched = this.remote.reload().then(
      () => {
        this.loadedAt = this.now();
        return true;
      },
      (error: unknown) => {
        this.logger.warn(
          { err: error, url: this.options.jwksUrl, ageMs: this.now() - this.loadedAt },
          'identity provider key set fetch failed; the keys fetched before stay in use',
        );
        return false;
      },
    );
    this.pending = fetched.finally(() => {
      this.pending = null;
    });
    return this.pending;
  }
}
