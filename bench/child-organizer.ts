/**
 * The organizer service in its own process for the organizer benchmark, so the load
 * generator does not share its event loop. Stacks are built by an instant stand-in provider.
 * argv[2]: JSON `{ dataDir, trustProxy }`; sends `{ url, token }` over IPC; closes on disconnect.
 */
import * as crypto from 'node:crypto';
import { startOrganizer } from '../src/organizer';
import { generateStackKeys } from '../src/organizer/providers/keys';
import type { PreflightEstimate, Provider, ProvisionedStack, StackKeys, StackSpec } from '../src/organizer/providers/types';
import { fakeProvisionedStack } from '../test/fixtures/provisionedStack';

/** Builds nothing: a stack is "ready" at once with plausible connection details. */
class InstantProvider implements Provider {
  readonly name = 'local';
  async provision(spec: StackSpec, keys: StackKeys): Promise<ProvisionedStack> {
    return fakeProvisionedStack(spec, keys, { handle: {} });
  }
  async preflight(): Promise<PreflightEstimate> {
    return { resources: [], quotas: [], quotaNote: 'The benchmark stand-in builds nothing.', problems: [] };
  }
  async destroy(): Promise<void> {}
  async check(): Promise<'alive' | 'lost'> {
    return 'alive';
  }
}

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2]!) as { dataDir: string; trustProxy: boolean };
  const token = 'oko_bench-' + crypto.randomBytes(16).toString('hex');
  // Key generation is the stack service's business, not the sign-in path: draw a few keys once.
  const keyPool = Array.from({ length: 16 }, () => generateStackKeys());
  let k = 0;
  const org = await startOrganizer({ dataDir: o.dataDir, secretKey: crypto.randomBytes(32), organizerToken: token, providers: () => new InstantProvider(), generateKeys: () => keyPool[k++ % keyPool.length]!, concurrency: 8, trustProxy: o.trustProxy, env: {} });
  process.on('disconnect', () => void org.close().then(() => process.exit(0)));
  process.send!({ url: org.url, token });
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
