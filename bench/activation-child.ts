/**
 * Child process of the activation benchmark (bundled with esbuild and run by plain `node`, so
 * no TypeScript loader sits in the path): installs the stub `vscode`, then times loading
 * dist/extension.js and its activate() in a stub host. Prints one JSON line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { calls, installVscodeStub, stubContext } from './vscode-stub';

async function main(): Promise<void> {
  const root = process.argv[2]!;
  const bundle = path.join(root, 'dist', 'extension.js');
  const packageJSON = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  installVscodeStub();
  // argv[3] === 'preloaded': Node's built-in modules the bundle needs are loaded first, as they are
  // in VS Code's extension host (its own code has loaded them long before any extension).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (process.argv[3] === 'preloaded') for (const m of ['fs', 'path', 'os', 'events', 'crypto', 'net', 'http']) require(`node:${m}`);
  const t0 = process.hrtime.bigint();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ext = require(bundle) as { activate(ctx: unknown): Promise<void> | void; deactivate?(): void };
  const t1 = process.hrtime.bigint();
  const context = stubContext(root, packageJSON);
  await ext.activate(context);
  const t2 = process.hrtime.bigint();
  const subs = context['subscriptions'] as { dispose(): unknown }[];
  const registered = calls.get('commands.registerCommand') ?? 0;
  for (const s of subs) {
    try {
      s.dispose();
    } catch {
      // disposing in a stub host is best effort; the numbers are already taken
    }
  }
  ext.deactivate?.();
  process.stdout.write(JSON.stringify({ loadMs: Number(t1 - t0) / 1e6, activateMs: Number(t2 - t1) / 1e6, subscriptions: subs.length, commands: registered, calls: Object.fromEntries(calls) }) + '\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stdout.write(JSON.stringify({ error: err instanceof Error ? err.stack : String(err) }) + '\n');
    process.exit(1);
  },
);
