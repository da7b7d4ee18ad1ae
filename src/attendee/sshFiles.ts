/**
 * Writes the attendee's key and the bastion's pinned host key to files, for the copied `ssh`
 * command. Only called when the attendee asked for it; Sign Out removes the files again.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { knownHostsLine } from './sshCommand';
import type { PublicConnection } from './environmentWatcher';

export interface SshFiles {
  dir: string;
  keyFile: string;
  knownHostsFile: string;
}

/** `<base>/<workshop name>/…`; the name is reduced to safe characters so it cannot leave `base`. */
export function sshFilesFor(baseDir: string, workshopName: string): SshFiles {
  const safe = workshopName.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'workshop';
  const dir = path.join(baseDir, safe);
  return { dir, keyFile: path.join(dir, 'id_ed25519'), knownHostsFile: path.join(dir, 'known_hosts') };
}

export async function sshFilesExist(files: SshFiles): Promise<boolean> {
  try {
    await fs.access(files.keyFile);
    return true;
  } catch {
    return false;
  }
}

/** Writes both files; the directory is 0700 and the key 0600, as ssh insists. */
export async function writeSshFiles(files: SshFiles, privateKey: string, connection: Pick<PublicConnection, 'bastion'>): Promise<void> {
  await fs.mkdir(files.dir, { recursive: true, mode: 0o700 });
  await fs.chmod(files.dir, 0o700);
  await fs.writeFile(files.keyFile, privateKey.endsWith('\n') ? privateKey : `${privateKey}\n`, { mode: 0o600 });
  // writeFile's mode applies only when it creates the file.
  await fs.chmod(files.keyFile, 0o600);
  await fs.writeFile(files.knownHostsFile, `${knownHostsLine(connection)}\n`, { mode: 0o644 });
}

/** Removes the workshop's folder, and the base folder too once no workshop is left in it. */
export async function removeSshFiles(files: SshFiles): Promise<void> {
  await fs.rm(files.dir, { recursive: true, force: true });
  await fs.rmdir(path.dirname(files.dir)).catch(() => undefined);
}
