import * as crypto from 'node:crypto';
import { utils as sshUtils } from 'ssh2';

/** `SHA256:` + unpadded base64 of the SHA-256 of an SSH public key blob, as `ssh-keygen -l` prints it. */
export function sha256Fingerprint(keyBlob: Buffer): string {
  return 'SHA256:' + crypto.createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/**
 * Brings a pinned fingerprint to the canonical form, so `SHA256:abc=`, `sha256:abc` and `abc`
 * compare equal. Throws on anything that is not a SHA-256 fingerprint.
 */
export function normalizeFingerprint(fingerprint: string): string {
  const trimmed = fingerprint.trim();
  const body = trimmed.replace(/^sha256:/i, '').replace(/=+$/, '');
  // 32 bytes of hash = 43 base64 characters without padding.
  if (!/^[A-Za-z0-9+/]{43}$/.test(body)) {
    throw new Error(`"${fingerprint}" is not a SHA-256 host key fingerprint (expected SHA256: followed by 43 base64 characters)`);
  }
  return `SHA256:${body}`;
}

/** The key blob of an OpenSSH public key line (`ssh-ed25519 AAAA… comment`). */
export function publicKeyBlob(publicKeyLine: string): Buffer {
  const parsed = sshUtils.parseKey(publicKeyLine);
  if (parsed instanceof Error) throw new Error(`not an SSH public key: ${parsed.message}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return key.getPublicSSH();
}
