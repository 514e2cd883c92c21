// Small checks that a script's reply has the shape its header promises (lua/*.lua): each
// returns the typed value or throws, so a decoder never guesses (no `as` on a reply).

export function list(reply: unknown, script: string): unknown[] {
  if (!Array.isArray(reply)) throw badReply(script, 'a list', reply);
  return reply;
}

// A Lua number comes back as an integer; a field Redis stores (HGET) as its string.
export function int(value: unknown, script: string): number {
  const number = typeof value === 'string' && value !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number)) {
    throw badReply(script, 'an integer', value);
  }
  return number;
}

// A trailing value a Lua table left out (nil ends it) is absent.
export function optionalInt(value: unknown, script: string): number | undefined {
  return value === undefined || value === null ? undefined : int(value, script);
}

export function text(value: unknown, script: string): string {
  if (typeof value !== 'string') throw badReply(script, 'a string', value);
  return value;
}

// One entry per item asked for, in order.
export function listOf(reply: unknown, script: string, length: number): unknown[] {
  const values = list(reply, script);
  if (values.length !== length) {
    throw new Error(`${script} answered ${values.length} values for ${length} items`);
  }
  return values;
}

function badReply(script: string, expected: string, value: unknown): Error {
  return new Error(`${script} answered ${JSON.stringify(value) ?? String(value)}, not ${expected}`);
}
