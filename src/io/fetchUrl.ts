import dns from 'node:dns';
import net from 'node:net';
import type { Readable } from 'node:stream';
import ipaddr from 'ipaddr.js';
import { Agent, request } from 'undici';
import { ApiError, invalidInput } from '../errors.js';

export interface FetchLimits {
  /** Whole download budget: connect, redirects, headers and body. */
  timeoutMs: number;
  maxBytes: number;
  /** Allow hosts that resolve to loopback/private/link-local/... addresses (server flag --allow-private-urls). */
  allowPrivate: boolean;
  maxRedirects: number;
}

export const DEFAULT_FETCH_LIMITS: Readonly<FetchLimits> = Object.freeze({
  timeoutMs: 10_000,
  maxBytes: 50 * 1024 * 1024,
  allowPrivate: false,
  maxRedirects: 5,
});

/**
 * The IPv4 address an IPv6 address stands for, if it embeds one the way a socket would use it:
 * IPv4-mapped `::ffff:a.b.c.d` (ipaddr.process) and IPv4-compatible `::a.b.c.d` (deprecated by
 * RFC 4291, but still accepted in URLs and written as `::7f00:1` once normalised).
 */
function effectiveAddress(ip: string): ipaddr.IPv4 | ipaddr.IPv6 {
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') return address;
  const { parts } = address as ipaddr.IPv6;
  const compatible = parts.slice(0, 6).every((p) => p === 0) && (parts[6]! !== 0 || parts[7]! > 1); // not :: or ::1
  return compatible ? ipaddr.IPv4.parse(`${parts[6]! >> 8}.${parts[6]! & 255}.${parts[7]! >> 8}.${parts[7]! & 255}`) : address;
}

/**
 * True for every address that is not public unicast: loopback, RFC 1918, CGNAT,
 * ULA, link-local (incl. cloud metadata 169.254.169.254), unspecified, multicast,
 * broadcast, documentation/reserved ranges, IPv4-mapped and IPv4-compatible IPv6
 * forms of those, and IPv6 ranges that embed IPv4 by translation (NAT64, 6to4, Teredo).
 * Unparseable input counts as forbidden (fail closed).
 */
export function isForbiddenAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return true;
  return effectiveAddress(ip).range() !== 'unicast';
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MIB = 1024 * 1024;

class ForbiddenAddressError extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(`${host} resolves to the non-public address ${address}`);
    this.name = 'ForbiddenAddressError';
  }
}

/** net.connect lookup hook: resolve normally, then refuse if any answer is non-public. */
function publicOnlyLookup(
  hostname: string,
  options: dns.LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void,
): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const forbidden = addresses.find((a) => isForbiddenAddress(a.address));
    if (forbidden) return callback(new ForbiddenAddressError(hostname, forbidden.address), []);
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
}

function formatMegabytes(bytes: number): string {
  return `${Number((bytes / MIB).toPrecision(3))} MB`;
}

/** Long URLs (e.g. signed query strings) are cut so error messages stay readable. */
function shortUrl(url: string): string {
  return url.length > 200 ? `${url.slice(0, 200)}…` : url;
}

function parseHttpUrl(raw: string, field: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidInput(`${field}: not a valid URL: ${shortUrl(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidInput(`${field}: only http and https URLs can be fetched, not ${url.protocol.slice(0, -1)}: ${shortUrl(raw)}`);
  }
  return url;
}

function privateAddressError(field: string, host: string, address: string): ApiError {
  return invalidInput(
    `${field}: refusing to connect to ${host}: it resolves to a private/loopback address (${address}); ` +
      'start the server with --allow-private-urls to allow this',
  );
}

/** The lookup hook never runs for IP-literal hosts, so those are checked here. */
function checkLiteralHost(url: URL, field: string): void {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(host) !== 0 && isForbiddenAddress(host)) throw privateAddressError(field, url.host, host);
}

/**
 * A URL from a request that the server itself will call later (e.g. a request-level LLM `base_url`):
 * refused (422) when its host is a non-public IP literal; host names are checked at connect time by
 * `publicOnlyDispatcher`.
 */
export function checkPublicUrl(url: string, field: string): void {
  checkLiteralHost(parseHttpUrl(url, field), field);
}

let publicOnlyAgent: Agent | undefined;
/** A shared dispatcher whose connections refuse hosts that resolve to non-public addresses. */
export function publicOnlyDispatcher(): Agent {
  publicOnlyAgent ??= new Agent({ connect: { lookup: publicOnlyLookup } });
  return publicOnlyAgent;
}

/** The 422 for a connection `publicOnlyDispatcher` refused, if `err` is one. */
export function privateAddressRefusal(err: unknown, field: string): ApiError | undefined {
  const refused = findCause(err, ForbiddenAddressError);
  return refused ? privateAddressError(field, refused.host, refused.address) : undefined;
}

function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}

/** Drop a response body unread; undici reports that as an abort error, which is expected here. */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

function findCause<T extends Error>(err: unknown, type: new (...args: never[]) => T): T | undefined {
  for (let e = err; e instanceof Error; e = e.cause) if (e instanceof type) return e;
  return undefined;
}

/**
 * Download a client-supplied URL with the limits a public server needs: total
 * timeout, size cap, redirect cap, and (unless allowPrivate) no requests to
 * non-public addresses, re-checked on every redirect hop and at connect time
 * (so DNS answers cannot smuggle in a private address).
 */
export async function fetchUrl(url: string, field: string, limits: FetchLimits): Promise<Uint8Array> {
  let current = parseHttpUrl(url, field);
  // A dedicated agent per download: its lookup policy matches these limits, and
  // destroying it afterwards guarantees no socket outlives the call.
  const agent = new Agent({ connect: limits.allowPrivate ? {} : { lookup: publicOnlyLookup } });
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), limits.timeoutMs);
  try {
    for (let redirects = 0; ; redirects++) {
      if (!limits.allowPrivate) checkLiteralHost(current, field);
      const res = await request(current, {
        method: 'GET',
        dispatcher: agent,
        signal: controller.signal,
        headers: { 'user-agent': 'pipeserve' },
      });
      const location = res.headers.location;
      if (REDIRECT_STATUSES.has(res.statusCode) && typeof location === 'string') {
        discard(res.body);
        if (redirects >= limits.maxRedirects) {
          throw invalidInput(`${field}: too many redirects (more than ${limits.maxRedirects}) fetching ${shortUrl(url)}`);
        }
        current = parseHttpUrl(new URL(location, current).href, field);
        continue;
      }
      if (res.statusCode < 200 || res.statusCode > 299) {
        discard(res.body);
        throw invalidInput(`${field}: fetching ${shortUrl(current.href)} failed with HTTP status ${res.statusCode}`);
      }
      const tooLarge = () =>
        invalidInput(`${field}: the file at ${shortUrl(current.href)} is larger than ${formatMegabytes(limits.maxBytes)}`);
      const declaredLength = Number(res.headers['content-length']);
      if (declaredLength > limits.maxBytes) {
        discard(res.body);
        throw tooLarge();
      }
      const chunks: Buffer[] = [];
      let received = 0;
      // Leaving the loop by throwing destroys the stream, which aborts the download.
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        received += chunk.length;
        if (received > limits.maxBytes) throw tooLarge();
        chunks.push(chunk);
      }
      const body = Buffer.concat(chunks, received);
      return new Uint8Array(body.buffer, body.byteOffset, body.length);
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (controller.signal.aborted) {
      throw invalidInput(`${field}: fetching ${shortUrl(current.href)} timed out after ${limits.timeoutMs} ms`);
    }
    const refused = findCause(err, ForbiddenAddressError);
    if (refused) throw privateAddressError(field, refused.host, refused.address);
    throw invalidInput(`${field}: could not fetch ${shortUrl(current.href)} (${describeNetworkError(err)})`);
  } finally {
    clearTimeout(timer);
    await agent.destroy().catch(() => undefined);
  }
}
