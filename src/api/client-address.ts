import { BlockList, isIP } from 'node:net';

// Who is on the other end of a request, for the per-address challenge limit. The socket's peer,
// unless that peer is a proxy listed in TRUSTED_PROXIES: then X-Forwarded-For, read from the
// right (each proxy appends the address it saw), past every trusted proxy, names the client.
// Entries left of the first untrusted one are whatever the client wrote, so never believed.
export class ClientAddresses {
  private readonly trusted: BlockList | null;

  constructor(trustedProxies: readonly string[]) {
    if (trustedProxies.length === 0) {
      this.trusted = null;
      return;
    }
    const list = new BlockList();
    for (const cidr of trustedProxies) {
      const [address = '', bits] = cidr.split('/');
      const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) list.addAddress(address, type);
      else list.addSubnet(address, Number(bits), type);
    }
    this.trusted = list;
  }

  // The client's address, or null when the socket has none (a request made in-process).
  of(peer: string | undefined, forwardedFor: string | undefined): string | null {
    let client = peer === undefined ? null : plainAddress(peer);
    if (!client || !this.isTrusted(client) || !forwardedFor) return client;
    const hops = forwardedFor.split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = plainAddress(hops[i]!.trim());
      // A proxy we trust wrote something that is no address: its own address is all we know.
      if (!hop) return client;
      client = hop;
      if (!this.isTrusted(hop)) return hop;
    }
    return client;
  }

  private isTrusted(address: string): boolean {
    return this.trusted?.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4') ?? false;
  }
}

// An address without a port, brackets or the IPv4-mapped IPv6 prefix; null if it is none.
function plainAddress(raw: string): string | null {
  let address = raw;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(':'));
  if (/^::ffff:[\d.]+$/i.test(address)) address = address.slice(7);
  return isIP(address) === 0 ? null : address.toLowerCase();
}

// The bucket an address counts against: an IPv4 address alone, an IPv6 address by its /64 (one
// subscriber's network: a host picks any address in it at will).
export function addressBucket(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  // A dotted IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) stands for two groups.
  const rightGroups = right.length + (right.at(-1)?.includes('.') ? 1 : 0);
  const groups = address.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - rightGroups)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
