/**
 * `node dist/stack.js --dir <stackDir>` — one local stack (cluster + bastion) as its own
 * process, started detached by the local provider so stacks outlive an organizer restart.
 * Writes `<dir>/state.json` once everything listens; SIGTERM/SIGINT stop everything and remove
 * it; removing the stack folder stops the process too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { runStack, STACK_STATE_FILE, writeJsonAtomic, type RunningStack } from '../organizer/providers/stackProcess';

const USAGE = 'Usage: node dist/stack.js --dir <stack folder with stack.json>\n';

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

function main(): void {
  let dirArg: string | undefined;
  try {
    dirArg = parseArgs({ options: { dir: { type: 'string' } } }).values.dir;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    process.exit(64);
  }
  if (!dirArg) {
    process.stderr.write(USAGE);
    process.exit(64);
  }
  const dir = path.resolve(dirArg);
  const stateFile = path.join(dir, STACK_STATE_FILE);

  log(`stack process ${process.pid} starting in ${dir}`);
  const starting: Promise<RunningStack> = runStack(dir, log);
  let stopping = false;

  const stop = async (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    log(`stopping: ${why}`);
    try {
      const running = await starting.catch(() => undefined);
      await running?.close();
    } catch (err) {
      log(`error while stopping: ${(err as Error).message}`);
    } finally {
      fs.rmSync(stateFile, { force: true });
      log('stopped');
      process.exit(code);
    }
  };

  process.on('SIGTERM', () => void stop('SIGTERM', 0));
  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('SIGHUP', () => void stop('SIGHUP', 0));
  process.on('uncaughtException', (err) => {
    log(`uncaught error: ${err.stack ?? err.message}`);
    void stop('uncaught error', 1);
  });

  // The provider removes the folder when it destroys the stack; a folder deleted by hand
  // (or by a test cleaning up) must not leave an orphan behind either.
  const watchdog = setInterval(() => {
    if (!fs.existsSync(dir)) void stop('stack folder removed', 0);
  }, 1000);
  watchdog.unref();

  starting.then(
    (running) => {
      if (stopping) return;
      writeJsonAtomic(stateFile, running.state);
      const s = running.state;
      log(`ready: nomad ${s.nomadPort}, consul ${s.consulPort}, ${s.bastionKind} bastion ${s.bastionPort} (user ${s.bastionUser})`);
    },
    (err: Error) => {
      log(`failed to start: ${err.stack ?? err.message}`);
      void stop('start failed', 1);
    },
  );
}

main();
