import { describe, expect, it } from 'vitest';
import { AmqpUrlError, parseAmqpUrls, redact } from './urls.js';

describe('AMQP_URL', () => {
  it('names one node or several, in the order given, each with a heartbeat', () => {
    expect(parseAmqpUrls('amqp://u:p@rabbit-1:5672/shop')).toEqual([
      'amqp://u:p@rabbit-1:5672/shop?heartbeat=10',
    ]);
    expect(
      parseAmqpUrls('amqp://u:p@rabbit-2:5672/shop, amqp://u:p@rabbit-1:5672/shop?heartbeat=5'),
    ).toEqual([
      'amqp://u:p@rabbit-2:5672/shop?heartbeat=10',
      'amqp://u:p@rabbit-1:5672/shop?heartbeat=5',
    ]);
  });

  it('refuses nodes naming different vhosts, and what is not an AMQP URL', () => {
    expect(() => parseAmqpUrls('amqp://a:5672/one,amqp://b:5672/two')).toThrow(AmqpUrlError);
    expect(() => parseAmqpUrls('amqp://a:5672/,amqp://b:5672/%2F')).not.toThrow();
    expect(() => parseAmqpUrls('http://a:5672/')).toThrow(/amqp:\/\//);
    expect(() => parseAmqpUrls('amqp://a:5672/,')).toThrow(AmqpUrlError);
  });

  it('logs a node without its credentials', () => {
    expect(redact('amqp://guest:secret@rabbit-1:5672/shop?heartbeat=10')).toBe(
      'amqp://rabbit-1:5672/shop',
    );
  });
});
