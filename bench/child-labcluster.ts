/**
 * A lab cluster in its own process (forked with tsx), so its CPU does not count against the
 * client being measured. Sends `{ nomadUrl, consulUrl, nomadPort, consulPort }` over IPC once
 * listening, answers `{ cpu: true }` with its process.cpuUsage(), and closes on disconnect.
 * argv[2]: JSON of LabClusterOptions.
 */
import { startLabCluster } from '../src/labcluster';

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}');
  const lab = await startLabCluster({ host: '127.0.0.1', nomadPort: 0, consulPort: 0, ...opts });
  process.on('message', (m: { cpu?: boolean; mem?: boolean }) => {
    if (m.cpu) process.send!({ cpu: process.cpuUsage() });
  });
  process.on('disconnect', () => void lab.close().then(() => process.exit(0)));
  process.send!({ nomadUrl: lab.nomadUrl, consulUrl: lab.consulUrl, nomadPort: lab.nomadPort, consulPort: lab.consulPort, adminUrl: lab.adminUrl });
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
