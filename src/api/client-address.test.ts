import { describe, expect, it } from 'vitest';
import { ClientAddresses, addressBucket } from './client-address.js';

describe('ClientAddresses', () => {
  it('takes the socket peer, and ignores X-Forwarded-For without trusted proxies', () => {
    const sut = new ClientAddresses([]);
    expect(sut.of('203.0.113.7', '198.51.100.1')).toBe('203.0.113.7');
    expect(sut.of('::ffff:203.0.113.7', undefined)).toBe('203.0.113.7');
    expect(sut.of(undefined, '198.51.100.1')).toBeNull();
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    const sut = new ClientAddresses(['10.0.0.0/8']);
    expect(sut.of('203.0.113.7', '198.51.100.1')).toBe('203.0.113.7');
  });

  it('reads X-Forwarded-For from the right, past every trusted proxy', () => {
    const sut = new ClientAddresses(['10.0.0.0/8', '192.168.1.1', '2001:db8:ff::/48']);
    // The client wrote the first entry itself: only the hop the proxy appended counts.
    expect(sut.of('10.1.2.3', '6.6.6.6, 198.51.100.1')).toBe('198.51.100.1');
    expect(sut.of('10.1.2.3', '198.51.100.1, 192.168.1.1, 10.9.9.9')).toBe('198.51.100.1');
    expect(sut.of('::ffff:10.1.2.3', '[2001:db8::5]:443')).toBe('2001:db8::5');
    expect(sut.of('2001:db8:ff::1', '198.51.100.1:5050')).toBe('198.51.100.1');
    // Every hop trusted: the farthest one is the client.
    expect(sut.of('10.1.2.3', '192.168.1.1')).toBe('192.168.1.1');
    // A trusted proxy that wrote no address: its own address is all we know.
    expect(sut.of('10.1.2.3', '198.51.100.1, not-an-ip')).toBe('10.1.2.3');
    expect(sut.of('10.1.2.3', '')).toBe('10.1.2.3');
  });
});

describe('addressBucket', () => {
  it('keeps an IPv4 address, and groups IPv6 by its /64', () => {
    expect(addressBucket('198.51.100.1')).toBe('198.51.100.1');
    expect(addressBucket('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
    expect(addressBucket('64:ff9b::1.2.3.4')).toBe('64:ff9b:0:0::/64');
    expect(addressBucket('2001:0db8:0001:0002::9')).toBe('2001:db8:1:2::/64');
  });
});
