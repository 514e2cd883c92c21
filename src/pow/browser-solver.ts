// What a page (the waiting room's) runs to solve a challenge from GET /sales/:saleId/challenge:
// ALTCHA v2's PBKDF2 search in WebCrypto, the browser's native code, so a person's browser
// pays about what a bot's core pays. Self-contained (no imports, no closure): a page embeds
// it with `solveChallenge.toString()`, and Node (which has WebCrypto too) can run it as is.
// Returns the X-Altcha header's value: base64 of {challenge, solution}, as ALTCHA's widget
// sends it. `start` and `step` split the search over workers (worker i of n: start i, step n).
export async function solveChallenge(
  challenge: { parameters: Record<string, unknown>; signature?: string },
  start = 0,
  step = 1,
): Promise<string | null> {
  const p = challenge.parameters as {
    algorithm: string;
    nonce: string;
    salt: string;
    cost: number;
    keyLength: number;
    keyPrefix: string;
  };
  // No inner named functions: tsx (esbuild) would wrap them in a helper the page lacks.
  const [nonce, salt, prefix] = [p.nonce, p.salt, p.keyPrefix].map((hex) =>
    Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16)),
  ) as [Uint8Array, Uint8Array, Uint8Array];
  const hash = p.algorithm.replace(/^PBKDF2\//, '');
  // The password is the nonce followed by the counter, big-endian uint32 (ALTCHA v2).
  const password = new Uint8Array(nonce.length + 4);
  password.set(nonce);
  const view = new DataView(password.buffer);
  const began = performance.now();
  for (let counter = start; counter <= 0xffffffff; counter += step) {
    view.setUint32(nonce.length, counter);
    const key = await crypto.subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
    const derived = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: 'PBKDF2', salt, iterations: p.cost, hash },
        key,
        p.keyLength * 8,
      ),
    );
    if (prefix.every((b, i) => derived[i] === b)) {
      const derivedKey = Array.from(derived, (b) => b.toString(16).padStart(2, '0')).join('');
      const time = Math.round(performance.now() - began);
      return btoa(JSON.stringify({ challenge, solution: { counter, derivedKey, time } }));
    }
  }
  return null;
}
