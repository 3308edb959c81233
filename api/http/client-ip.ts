import { isIPv4, isIPv6 } from "node:net";
import type { Server } from "bun";

/** One range of proxy addresses (TRUST_PROXY), as a network number and prefix length. */
export interface AddressRange {
  readonly family: 4 | 6;
  readonly network: bigint;
  readonly prefix: number;
}
/** The proxies whose X-Forwarded-For is believed; empty: the header is ignored. */
type TrustedProxies = readonly AddressRange[];

interface Address {
  family: 4 | 6;
  value: bigint;
}

const bitsOf = (family: 4 | 6) => (family === 4 ? 32 : 128);

function parseIPv4(text: string): bigint {
  return text.split(".").reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
}

function parseIPv6(text: string): bigint {
  let head = text;
  let tail: bigint[] = [];
  // An embedded IPv4 tail (::ffff:192.0.2.1) counts as the last two groups.
  const lastColon = head.lastIndexOf(":");
  if (head.includes(".", lastColon)) {
    const v4 = parseIPv4(head.slice(lastColon + 1));
    tail = [v4 >> 16n, v4 & 0xffffn];
    head = `${head.slice(0, lastColon + 1)}0:0`;
  }
  const [left = "", right] = head.split("::");
  const groups = (part: string) => (part === "" ? [] : part.split(":").map((group) => BigInt(`0x${group}`)));
  const leftGroups = groups(left);
  const rightGroups = right === undefined ? [] : groups(right);
  const missing = 8 - leftGroups.length - rightGroups.length;
  const all = [...leftGroups, ...Array<bigint>(Math.max(missing, 0)).fill(0n), ...rightGroups];
  if (tail.length === 2) all.splice(6, 2, ...tail);
  return all.reduce((value, group) => (value << 16n) | group, 0n);
}

/** An IPv4 or IPv6 address (zone and IPv4-mapped form understood), or null. */
function parseAddress(raw: string): Address | null {
  const text = raw.trim().replace(/%.*$/, "");
  if (isIPv4(text)) return { family: 4, value: parseIPv4(text) };
  if (!isIPv6(text)) return null;
  const value = parseIPv6(text);
  // ::ffff:a.b.c.d is how a dual-stack socket reports an IPv4 peer.
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

/** A forwarded hop may carry a port: 192.0.2.1:1234 or [2001:db8::1]:1234. */
function parseHop(hop: string): Address | null {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return parseAddress(bracketed[1]!);
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return parseAddress(v4WithPort ? v4WithPort[1]! : hop);
}

function parseRange(text: string): AddressRange | null {
  const [addressText = "", prefixText, ...rest] = text.trim().split("/");
  const address = parseAddress(addressText);
  if (!address || rest.length > 0) return null;
  const bits = bitsOf(address.family);
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) return null;
  const mask = ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  return { family: address.family, network: address.value & mask, prefix };
}

// Config keeps TRUST_PROXY as validated `address/prefix` strings; they are parsed once per list.
const parsedLists = new WeakMap<readonly string[], TrustedProxies>();

/** The ranges of a TRUST_PROXY list (entries that do not parse are dropped: config refuses them). */
export function trustedProxies(list: readonly string[]): TrustedProxies {
  let ranges = parsedLists.get(list);
  if (!ranges) {
    ranges = list.map(parseRange).filter((range): range is AddressRange => range !== null);
    parsedLists.set(list, ranges);
  }
  return ranges;
}

function isTrusted(address: Address, trusted: TrustedProxies): boolean {
  return trusted.some((range) => {
    if (range.family !== address.family) return false;
    const shift = BigInt(bitsOf(range.family) - range.prefix);
    return address.value >> shift === range.network >> shift;
  });
}

/**
 * The client's address, for rate limits and logs: the socket's peer, which a client cannot forge;
 * when that peer is a trusted proxy, the rightmost X-Forwarded-For hop that is not one (each proxy
 * appends the peer it saw, so everything left of it is whatever the client chose to send).
 */
export function clientIp(
  request: Request,
  server: Server<unknown> | null,
  trustProxy: readonly string[],
): string {
  const trusted = trustedProxies(trustProxy);
  const peer = server?.requestIP(request)?.address;
  if (!peer) return "unknown";
  const peerAddress = parseAddress(peer);
  if (trusted.length === 0 || !peerAddress || !isTrusted(peerAddress, trusted)) return peer;
  const hops = (request.headers.get("x-forwarded-for") ?? "")
    .split(",")
    .map((hop) => hop.trim())
    .filter((hop) => hop !== "");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    const address = parseHop(hop);
    if (!address || !isTrusted(address, trusted)) return hop;
  }
  return hops[0] ?? peer;
}
