import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('works with no environment at all, against the local services', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379/0');
    expect(config.databaseUrl).toMatch(/^postgres:\/\//);
  });

  it('lists every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'abc', REDIS_URL: 'nope', FAULT_FAIL_RATE: '2' })).toThrow(
      ConfigError,
    );
    const error = (() => {
      try {
        loadConfig({ PORT: 'abc', REDIS_URL: 'nope' });
      } catch (caught) {
        return caught as Error;
      }
      return null;
    })();
    expect(error?.message).toMatch(/PORT/);
    expect(error?.message).toMatch(/REDIS_URL/);
  });
});
