// Addresses as both sides of a connection write them: `host:port`, IPv6 hosts
// in brackets. Shared by the node's own configuration (--peers, --listen) and
// the client library (--cluster), so both read an address the same way.

/** Where to dial a node, or where it listens. */
export interface NetAddress {
  /** A DNS name or an IP address (IPv6 without brackets), as dialled. */
  host: string;
  /** The TCP port, 1 to 65535. */
  port: number;
}

/** An address that cannot be read; the message says what to write instead. */
export class AddressError extends Error {
  readonly code = 'invalid_address' as const;

  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

/** Parses one `host:port` (or `[v6-host]:port`). Throws AddressError. */
export function parseAddress(text: string): NetAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  if (match === null) {
    throw new AddressError(`invalid address "${text}": expected host:port, e.g. 127.0.0.1:7401`);
  }
  const host = match[1] ?? match[2];
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) {
    throw new AddressError(`invalid address "${text}": the port must be between 1 and 65535`);
  }
  return { host, port };
}

/** The inverse of parseAddress: `host:port`, brackets around an IPv6 host. */
export function formatAddress(address: NetAddress): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${host}:${address.port}`;
}
