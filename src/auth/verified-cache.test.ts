import { describe, expect, it } from 'vitest';
import { Hs256Tokens, signBuyerToken } from './jwt.js';

const secret = 'crowd-test-secret';

// The poll's front door answers only tokens verified before (src/api/poll-front.ts): a cache
// that forgets a live crowd sends every poll of it to the app and its HMACs again.
describe('the verified-token cache under a waiting room crowd', () => {
  it('remembers a crowd larger than 100,000 when its budget holds it', () => {
    const buyers = new Hs256Tokens(secret, 256 * 2 ** 20);
    const crowd = Array.from({ length: 120_000 }, (_, i) => signBuyerToken(`buyer-${i}`, secret));
    for (const token of crowd) buyers.verify(token);
    let forgotten = 0;
    for (const token of crowd) if (buyers.known(token) === undefined) forgotten++;
    expect(forgotten).toBe(0);
  }, 30_000);

  it('lets the tokens nobody sends any more go first, never the ones still sent', () => {
    const buyers = new Hs256Tokens(secret, 64 * 1024);
    const first = signBuyerToken('gone-first', secret);
    buyers.verify(first);
    const live = Array.from({ length: 20 }, (_, i) => signBuyerToken(`live-${i}`, secret));
    for (let round = 0; round < 50; round++) {
      for (const token of live) buyers.verify(token);
      // Buyers who came once and left: many times what the budget holds over the rounds.
      for (let i = 0; i < 20; i++) buyers.verify(signBuyerToken(`gone-${round}-${i}`, secret));
    }
    expect(live.filter((token) => buyers.known(token) === undefined)).toEqual([]);
    expect(buyers.known(first)).toBeUndefined();
  });
});
