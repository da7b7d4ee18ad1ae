/**
 * Lab progress as the extension keeps it: saved after every change (the extension's global
 * state), read back by a new controller after a restart, and reported to the real organizer
 * service, which shows it in the attendee list. Reports that cannot be sent wait and go out later.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { LabController, loadLabs, parseLabControllerState, type LabControllerState } from '../../src/labs';
import { startOrganizer } from '../../src/organizer';
import { OrganizerApi } from '../../src/organizerClient';

const root = path.resolve(__dirname, '..', '..');

test('progress survives a restart of the extension and reaches the organizer, also after a lost connection', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'labs-progress-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const organizerToken = 'oko_' + crypto.randomBytes(24).toString('base64url');
  const organizer = await startOrganizer({ dataDir, secretKey: crypto.randomBytes(32), organizerToken });
  t.after(() => organizer.close());
  const admin = new OrganizerApi({ apiUrl: organizer.url, token: organizerToken });
  await admin.createWorkshop({ name: 'progress', title: 'Progress workshop' });
  await admin.importAttendees('progress', [{ email: 'ada@example.com', name: 'Ada' }]);
  const [invite] = (await admin.createInvites('progress', {})).invites;
  const inviteToken = new URL(invite!.link).searchParams.get('invite')!;
  const session = await new OrganizerApi({ apiUrl: organizer.url }).redeem(inviteToken);
  const api = new OrganizerApi({ apiUrl: organizer.url, token: session.token });

  const { labs } = await loadLabs({ dir: path.join(root, 'labs'), workspaceRoot: root });
  const lab = [...labs].sort((a, b) => a.order - b.order)[0]!;
  // What the extension's global state would hold.
  let saved: unknown;
  let online = false;
  const controller = (state?: LabControllerState) =>
    new LabController({
      labs,
      state,
      reader: () => undefined,
      save: async (s) => {
        saved = JSON.parse(JSON.stringify(s));
      },
      report: async (r) => {
        if (!online) throw new Error('organizer unreachable');
        await api.reportProgress(r);
      },
    });

  // Offline at first: the start is saved and its report waits in the outbox.
  const first = controller();
  await first.start(lab.id);
  assert.equal(first.status(lab.id), 'in-progress');
  assert.equal((saved as LabControllerState).outbox.length, 1);

  // "Restart": a new controller from what was saved has the same progress.
  const restored = parseLabControllerState(saved);
  assert.equal(restored.error, undefined);
  const second = controller(restored.state);
  assert.equal(second.status(lab.id), 'in-progress');
  assert.equal(second.current(lab.id)?.step.id, lab.steps[0]!.id);

  // Back online: the waiting report goes out and the organizer sees the attendee's current step.
  online = true;
  await second.flush();
  assert.equal((saved as LabControllerState).outbox.length, 0);
  const ada = (await admin.listAttendees('progress')).attendees[0]!;
  assert.deepEqual(ada.progress, { done: 0, current: `${lab.id}/${lab.steps[0]!.id}` });
});
