/**
 * Key material for one stack: the bastion's host key (pinned by the extension through its
 * fingerprint) and the attendee's key (the only key the bastion accepts).
 */
import * as crypto from 'node:crypto';
import { utils as sshUtils } from 'ssh2';
import type { StackKeys } from './types';

/** Length of an ssh-ed25519 public key blob: string "ssh-ed25519" + string of 32 key bytes. */
const ED25519_BLOB_LENGTH = 4 + 'ssh-ed25519'.length + 4 + 32;

export interface KeyPair {
  /** OpenSSH private key (`-----BEGIN OPENSSH PRIVATE KEY-----`). */
  privateKey: string;
  /** OpenSSH public key line (`ssh-ed25519 AAAA… comment`). */
  publicKey: string;
  fingerprint: string;
}

/**
 * `SHA256:` + unpadded base64 of the SHA-256 of the public key blob, exactly as
 * `ssh-keygen -lf` prints it. Accepts an OpenSSH public key line (`ssh-ed25519 AAAA… [comment]`),
 * a private key, or the raw blob.
 */
export function fingerprintOf(key: string | Buffer): string {
  let blob: Buffer;
  if (Buffer.isBuffer(key)) {
    blob = key;
  } else {
    const parsed = sshUtils.parseKey(key);
    if (parsed instanceof Error) throw new Error(`not an SSH key: ${parsed.message}`);
    blob = parsed.getPublicSSH();
  }
  return 'SHA256:' + crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/**
 * One ed25519 key pair in OpenSSH formats. ssh2's generator strips leading zero bytes from
 * the public key (about one key in 256 loses its first byte and cannot be parsed by
 * anyone), so such keys are drawn again.
 */
export function generateKeyPair(comment: string): KeyPair {
  for (;;) {
    const pair = sshUtils.generateKeyPairSync('ed25519', { comment });
    const pub = sshUtils.parseKey(pair.public);
    if (pub instanceof Error || sshUtils.parseKey(pair.private) instanceof Error) continue;
    const blob = pub.getPublicSSH();
    if (blob.length !== ED25519_BLOB_LENGTH) continue;
    return { privateKey: pair.private, publicKey: pair.public.trim(), fingerprint: fingerprintOf(blob) };
  }
}

export function generateStackKeys(): StackKeys {
  const host = generateKeyPair('open-kitchen bastion host key');
  const attendee = generateKeyPair('open-kitchen attendee');
  return {
    hostPrivateKey: host.privateKey,
    hostPublicKey: host.publicKey,
    hostKeyFingerprint: host.fingerprint,
    attendeePrivateKey: attendee.privateKey,
    attendeePublicKey: attendee.publicKey,
  };
}
