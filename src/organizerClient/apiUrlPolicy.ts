/**
 * Which organizer API URLs the extension talks to. The API hands out the session token and the
 * attendee's SSH private key, so anything but TLS is refused unless the traffic never leaves
 * this machine (the demo and the tests run the organizer on loopback).
 */
import { isIP } from 'node:net';
import { ApiUrlPolicyError } from './errors';

/** True for `localhost`, 127.0.0.0/8 and ::1 (also IPv4-mapped ::ffff:127.x.y.z). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.split('.')[0] === '127';
  if (isIP(host) === 6) {
    if (host === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(host)) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    if (mapped) return isLoopbackHost(mapped[1]);
    // WHATWG URL normalises ::ffff:127.0.0.1 to ::ffff:7f00:1.
    const hexMapped = /^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(host);
    if (hexMapped) return parseInt(hexMapped[1], 16) >> 8 === 127;
  }
  return false;
}

/**
 * Checks an organizer API base URL against the policy and returns it normalised (no trailing
 * slash, no query or fragment). Throws `ApiUrlPolicyError` saying why it was refused.
 */
export function checkApiUrl(raw: string): string {
  const text = raw.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ApiUrlPolicyError(`"${text}" is not a valid organizer API URL; it should look like https://kitchen.example.com.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ApiUrlPolicyError(`The organizer API URL must start with https:// (got ${url.protocol}//).`);
  }
  if (url.username || url.password) {
    throw new ApiUrlPolicyError('The organizer API URL must not contain a user name or password.');
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new ApiUrlPolicyError(
      `Refusing the organizer API at ${url.origin}: plain http:// would send your session token and SSH private key ` +
        'unencrypted over the network. Use the https:// address from your organizer; http:// is only allowed ' +
        'for an organizer on this machine (localhost, 127.0.0.1, ::1).',
    );
  }
  url.search = '';
  url.hash = '';
  return url.toString().replace(/\/+$/, '');
}
