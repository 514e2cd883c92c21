import { describe, expect, it } from 'vitest';
import { parseRulesChanged, parseSaleEvent } from './sale-event.js';

describe('the sale event message', () => {
  it('reads a sale that sold out or reopened', () => {
    expect(parseSaleEvent('42 3 0')).toEqual({ saleId: 42, version: 3, remaining: 0, shard: null });
    expect(parseSaleEvent('42 4 7')).toEqual({ saleId: 42, version: 4, remaining: 7, shard: null });
  });

  it('reads the shard of a sale over shards', () => {
    expect(parseSaleEvent('42 1 0 3')).toEqual({ saleId: 42, version: 1, remaining: 0, shard: 3 });
  });

  it('reads remaining below zero as it is (a restore may take past zero)', () => {
    expect(parseSaleEvent('42 2 -1')?.remaining).toBe(-1);
  });

  it('reads nothing else', () => {
    for (const message of [
      '',
      '42',
      '42 1',
      'a 1 0',
      '42 1 0 3 9',
      '42  1 0',
      '42 1 0 x',
      '42 1.5 0',
    ]) {
      expect(parseSaleEvent(message), message).toBeNull();
    }
  });
});

describe('the rules-changed message', () => {
  it('names the sale an admin changed, and reads nothing else', () => {
    expect(parseRulesChanged('42 rules')).toBe(42);
    for (const message of ['42 1 0', 'rules', '42 rules x', 'a rules']) {
      expect(parseRulesChanged(message), message).toBeNull();
    }
  });
});
