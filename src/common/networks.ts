import ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Maximum number of client addresses whose result a list keeps. */
const rememberedAddresses = 4096;

/**
 * A list of networks in CIDR notation (a bare address means that one address). IPv4 clients that reach
 * an IPv6 socket as `::ffff:a.b.c.d` match the IPv4 ranges.
 */
export class NetworkList {
  private readonly ranges: Range[];
  /** Results for recent addresses: a registry has few clients, and each sends many requests. */
  private readonly results = new Map<string, boolean>();

  constructor(networks: readonly string[]) {
    this.ranges = networks.map(parseRange);
  }

  get isEmpty(): boolean {
    return this.ranges.length === 0;
  }

  contains(address: string | undefined): boolean {
    if (address === undefined) {
      return false;
    }

    let result = this.results.get(address);

    if (result === undefined) {
      result = this.matches(address);

      // Bounded, so that clients from many addresses cannot grow it: it starts over when full.
      if (this.results.size >= rememberedAddresses) {
        this.results.clear();
      }

      this.results.set(address, result);
    }

    return result;
  }

  private matches(address: string): boolean {
    if (!ipaddr.isValid(address)) {
      return false;
    }

    const parsed = ipaddr.process(address);

    return this.ranges.some(
      ([network, bits]) => network.kind() === parsed.kind() && parsed.match(network, bits),
    );
  }
}

/** Returns why a CIDR range or address is not valid, or undefined when it is. */
export function cidrProblem(value: string): string | undefined {
  try {
    parseRange(value);

    return undefined;
  } catch {
    return 'must be an IP address or a CIDR range such as 10.0.0.0/8 or fd00::/8';
  }
}

function parseRange(value: string): Range {
  if (value.includes('/')) {
    const [network, bits] = ipaddr.parseCIDR(value);

    return network.kind() === 'ipv6' && (network as ipaddr.IPv6).isIPv4MappedAddress()
      ? [(network as ipaddr.IPv6).toIPv4Address(), Math.max(bits - 96, 0)]
      : [network, bits];
  }

  const address = ipaddr.process(value);

  return [address, address.kind() === 'ipv4' ? 32 : 128];
}
