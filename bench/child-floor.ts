/**
 * The floor of the organizer benchmark: a bare Fastify server in its own process with the two
 * routes of the sign-in burst and nothing behind them (no database, no hashing, no keys). The
 * same burst against it, in the same run, shows what the machine and the load generator cost by
 * themselves, so the organizer's own share can be told apart. Sends `{ url }` over IPC.
 */
import Fastify from 'fastify';

/** About the size of a real ready environment (an OpenSSH private key and the addresses). */
const environment = {
  stackId: 'stk_floor',
  status: 'ready',
  statusMessage: 'Ready.',
  provider: 'local',
  updatedAt: new Date(0).toISOString(),
  connection: { bastion: { host: '127.0.0.1', port: 2222, user: 'kitchen', hostKeyFingerprint: 'SHA256:' + 'A'.repeat(43) }, privateKey: 'k'.repeat(400), nomad: { host: '127.0.0.1', port: 4646 }, consul: { host: '127.0.0.1', port: 8500 }, region: 'global', datacenters: ['sys1', 'dc1'], zones: ['europe-west1-b', 'europe-west1-c'], dns: { internal: null, external: null }, nomadToken: null, consulToken: null },
};

async function main(): Promise<void> {
  const app = Fastify({ logger: false });
  app.post('/v1/auth/redeem', async (req) => ({ token: 'oks_' + String((req.body as { invite?: string }).invite).slice(4), expiresAt: new Date(0).toISOString() }));
  app.get('/v1/me/environment', async () => environment);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  process.on('disconnect', () => void app.close().then(() => process.exit(0)));
  process.send!({ url: `http://127.0.0.1:${port}` });
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
