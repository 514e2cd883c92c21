import fc from 'fast-check';
import { maxBodyBytes } from '../../../src/api/app.js';

// The purchase body rules of API.md, written independently of src/api/validation.ts:
// empty, or a JSON object whose only key is an integer `quantity` in range.
export function purchaseQuantity(body: string): number | 'invalid' {
  if (body.trim() === '') return 1;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return 'invalid';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'invalid';
  const keys = Object.keys(value);
  if (keys.some((k) => k !== 'quantity')) return 'invalid';
  const quantity = (value as { quantity?: unknown }).quantity;
  if (quantity === undefined) return 1;
  if (typeof quantity !== 'number' || !Number.isInteger(quantity)) return 'invalid';
  return quantity >= 1 && quantity <= 10_000 ? quantity : 'invalid';
}

const jsonObjectText = (entries: [string, unknown][]) =>
  `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;

export const purchaseBody = (perUserLimit: number): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    fc.constantFrom(
      undefined,
      '',
      '  ',
      '{}',
      '{"quantity":1}',
      `{"quantity":${perUserLimit}}`,
      `{"quantity":${perUserLimit + 1}}`,
      '{"quantity":0}',
      '{"quantity":-1}',
      '{"quantity":1.5}',
      '{"quantity":1e308}',
      '{"quantity":"1"}',
      '{"quantity":null}',
      '{"__proto__":{"quantity":1}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '{"quantity":1,"userId":"someone"}',
      'null',
      '[]',
      '{"quantity":1',
    ),
    fc.json({ maxDepth: 3 }),
    fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify({ quantity: v })),
    fc
      .array(
        fc.tuple(
          fc.constantFrom('quantity', '__proto__', 'constructor', 'prototype', 'toString', 'buyer'),
          fc.oneof(fc.integer({ min: -5, max: 12 }), fc.double(), fc.jsonValue({ maxDepth: 1 })),
        ),
        { maxLength: 3 },
      )
      .map(jsonObjectText),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc
      .integer({ min: maxBodyBytes - 8, max: maxBodyBytes * 3 })
      .map((n) => `{"quantity":1${' '.repeat(n)}}`),
  );

// Sale bodies that are each invalid by construction: a valid base with one bad field, or
// random JSON that has not the shape of a sale.
export const badSaleBody = (): fc.Arbitrary<string> => {
  const base = { sku: 'fuzz-new', name: 'New', stock: 5 };
  const badField = fc.oneof(
    fc.record({
      stock: fc.oneof(fc.integer({ max: 0 }), fc.double({ noInteger: true }), fc.constant('5')),
    }),
    fc.record({ perUserLimit: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 10_001 })) }),
    fc.record({
      sku: fc.oneof(
        fc.constant(''),
        fc.string({ minLength: 65, maxLength: 80 }),
        fc.constant('a b'),
      ),
    }),
    fc.record({
      name: fc.oneof(
        fc.constant(''),
        fc.constant('a\u0000b'),
        fc.string({ minLength: 201, maxLength: 220 }),
      ),
    }),
    fc.record({
      startsAt: fc.oneof(
        fc.constant('0000-01-01T00:00:00Z'),
        fc.string({ maxLength: 30 }),
        fc.integer(),
      ),
    }),
    fc.record({ endsAt: fc.constant('2001-01-01T00:00:00Z') }),
    fc.record({ sold: fc.integer() }),
  );
  return fc.oneof(
    badField.map((bad) => JSON.stringify({ ...base, ...bad })),
    fc.constantFrom(
      `{"sku":"fuzz-new","name":"N","stock":5,"__proto__":{"stock":1}}`,
      `{"sku":"fuzz-new","name":"N","stock":5,"constructor":{"prototype":{"x":1}}}`,
    ),
    fc.json({ maxDepth: 2 }).filter((text) => !/"sku"/.test(text)),
    fc.string({ unit: 'binary', maxLength: 200 }).filter((text) => !/"sku"/.test(text)),
  );
};
