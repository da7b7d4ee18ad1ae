/**
 * Open Kitchen inside a real VS Code extension host, against the demo backend the driver started
 * (test/e2e/inhost.test.ts passes its invite links in OPEN_KITCHEN_E2E_INVITES).
 * The tests run in order and build on each other: signed out → signed in → signed out → signed in
 * by the URI handler.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { readTree, seenViews, takeErrorMessages, waitForTree, type ItemView } from './treeSpy';

const EXTENSION_ID = 'openkitchen.open-kitchen';

interface InviteInfo {
  email: string;
  name: string;
  link: string;
}

function env(): { invites: InviteInfo[]; workshopTitle: string } {
  const raw = process.env.OPEN_KITCHEN_E2E_INVITES;
  if (!raw) throw new Error('OPEN_KITCHEN_E2E_INVITES is not set: run this suite through test/e2e/inhost.test.ts or test/vscode/runTest.ts');
  return { invites: JSON.parse(raw) as InviteInfo[], workshopTitle: process.env.OPEN_KITCHEN_E2E_WORKSHOP_TITLE ?? 'Open Kitchen demo workshop' };
}

const STATUS_LABELS = ['Pending', 'Provisioning', 'Ready', 'Failed', 'Being torn down', 'Torn down'];
const labels = (tree: ItemView[]) => tree.map((n) => n.label);

/** Resolves on the next session change of our authentication provider. */
function nextSessionChange(): Promise<void> {
  return new Promise((resolve) => {
    const sub = vscode.authentication.onDidChangeSessions((e) => {
      if (e.provider.id === 'openKitchen') {
        sub.dispose();
        resolve();
      }
    });
  });
}

describe('Open Kitchen in the extension host', () => {
  const { invites, workshopTitle } = env();
  let manifest: { contributes: { commands: { command: string }[]; views: Record<string, { id: string }[]> } };

  it('activates', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not loaded`);
    assert.equal(ext.isActive, false, 'activation is lazy: nothing should have activated the extension yet');
    await ext.activate();
    assert.equal(ext.isActive, true);
    manifest = ext.packageJSON as typeof manifest;
  });

  it('registers every command its package.json contributes', async () => {
    const all = new Set(await vscode.commands.getCommands(true));
    const missing = manifest.contributes.commands.map((c) => c.command).filter((id) => !all.has(id));
    assert.deepEqual(missing, []);
  });

  it('creates a tree for every view in the Open Kitchen container', () => {
    const ids = manifest.contributes.views.openKitchen.map((v) => v.id);
    assert.deepEqual([...seenViews()].sort(), [...ids].sort());
  });

  it('signed out: the trees are empty, so the welcome content with "Sign In" shows', async () => {
    assert.deepEqual(await readTree('openKitchen.environment'), []);
    assert.deepEqual(await readTree('openKitchen.cluster'), []);
    assert.deepEqual(await readTree('openKitchen.labs'), []);
    assert.equal(await vscode.authentication.getSession('openKitchen', [], { silent: true }), undefined);
  });

  it('Sign In with the invite link returns the attendee and the workshop', async () => {
    const changed = nextSessionChange();
    const result = (await vscode.commands.executeCommand('openKitchen.signIn', invites[0].link)) as
      | { attendee: { email: string; name: string }; workshop: { title: string } }
      | undefined;
    assert.ok(result, 'the Sign In command failed (it returns undefined after reporting an error)');
    assert.equal(result.attendee.email, invites[0].email);
    assert.equal(result.attendee.name, invites[0].name);
    assert.equal(result.workshop.title, workshopTitle);
    await changed;
  });

  it('the session is in secret storage, as the authentication provider reports it', async () => {
    const session = await vscode.authentication.getSession('openKitchen', [], { silent: true });
    // A silent request may be refused to an extension the user has not allowed yet; the
    // provider still lists the account, which only exists while the session is stored.
    if (session) {
      assert.match(session.account.label, new RegExp(invites[0].name));
      assert.ok(session.accessToken.length >= 20);
    }
    const accounts = await (vscode.authentication as unknown as { getAccounts?: (id: string) => Thenable<readonly { label: string }[]> })
      .getAccounts?.('openKitchen');
    if (accounts) assert.deepEqual(accounts.map((a) => a.label), [`${invites[0].name} (${workshopTitle})`]);
    console.log(`auth provider: getSession ${session ? 'returned the session' : 'was refused (silent)'}; getAccounts ${accounts ? `lists ${accounts.length}` : 'is not available'}`);
    assert.ok(session || accounts, 'neither getSession nor getAccounts could see the session');
  });

  it('Environment shows the workshop, the attendee and the stack status', async () => {
    const tree = await waitForTree('openKitchen.environment', (t) => t.length >= 2 && STATUS_LABELS.includes(t[1].label));
    assert.equal(tree[0].label, workshopTitle);
    assert.equal(tree[0].description, invites[0].email);
    assert.equal(tree[0].contextValue, 'workshop');
    assert.match(tree[1].contextValue ?? '', /^stack:/);
    if (tree[1].label === 'Ready') {
      assert.deepEqual(labels(tree.slice(2)), ['Bastion', 'Cluster', 'DNS']);
      assert.deepEqual(labels(tree[2].children), ['Address', 'User', 'Host key']);
      assert.match(tree[2].children[2].description ?? '', /^SHA256:/);
      assert.deepEqual(labels(tree[3].children), ['Nomad', 'Consul', 'Region', 'Datacenters', 'Zones']);
    }
  });

  it('the Environment view follows the stack until it is ready, then shows how to reach it', async function () {
    this.timeout(200_000);
    // The view refreshes by itself while the stack is being built; no command needed.
    const tree = await waitForTree('openKitchen.environment', (t) => ['Ready', 'Failed'].includes(t[1]?.label ?? ''), 180_000);
    if (tree[1].label === 'Failed') {
      assert.ok((tree[1].description ?? '').length > 0, 'a failed stack says why');
      this.skip();
    }
    assert.deepEqual(labels(tree.slice(2)), ['Bastion', 'Cluster', 'DNS']);
    const [bastion, cluster] = [tree[2], tree[3]];
    assert.match(bastion.description ?? '', /^\S+@(\[[0-9a-f:]+\]|[\w.-]+):\d+$/);
    assert.deepEqual(labels(bastion.children), ['Address', 'User', 'Host key']);
    assert.deepEqual(labels(cluster.children), ['Nomad', 'Consul', 'Region', 'Datacenters', 'Zones']);
    const hostKey = bastion.children[2];
    assert.match(hostKey.description ?? '', /^SHA256:[A-Za-z0-9+/]{43}$/);
    // Copy Value, as the context menu passes the node.
    const copied = await vscode.commands.executeCommand('openKitchen.copyValue', hostKey.element);
    assert.equal(copied, hostKey.description);
    assert.equal(await vscode.env.clipboard.readText(), hostKey.description);
  });

  it('the other views show what they hold once signed in', async () => {
    // The workshop's labs, in order (the extension ships them; the test workspace has none).
    const labs = await readTree('openKitchen.labs');
    assert.ok(labs.length >= 6, `labs: ${labs.map((l) => l.label).join(' | ')}`);
    assert.equal(labs[0].label, 'Connect and explore your cluster');
    // The Cluster view says what it is waiting for, or (stack ready, tunnel up) shows the cluster.
    const cluster = await readTree('openKitchen.cluster');
    assert.ok(cluster.length >= 1);
    assert.ok(['Waiting for your stack', 'Connecting…', 'Reconnecting…', 'Nomad servers'].includes(cluster[0].label), `first Cluster row: ${cluster[0].label}`);
  });

  it('Start Lab from a lab row starts that lab (the row is what the inline action passes)', async () => {
    const labs = await readTree('openKitchen.labs');
    const row = labs.find((l) => l.contextValue === 'lab:not-started');
    assert.ok(row, `a lab that can be started: ${labs.map((l) => `${l.label} (${l.contextValue})`).join(' | ')}`);
    await vscode.commands.executeCommand('openKitchen.startLab', row.element);
    const after = await waitForTree('openKitchen.labs', (t) => t.find((l) => l.label === row.label)?.contextValue === 'lab:in-progress');
    assert.equal(after.find((l) => l.label === row.label)?.contextValue, 'lab:in-progress');
    assert.deepEqual(after.filter((l) => l.contextValue === 'lab:in-progress').map((l) => l.label), [row.label], 'no other lab was started');
  });

  it('Refresh Environment keeps the environment on show', async () => {
    const result = (await vscode.commands.executeCommand('openKitchen.refreshEnvironment')) as { status?: string } | undefined;
    assert.ok(result, 'Refresh Environment failed (it returns undefined after reporting an error)');
    assert.match(result.status ?? '', /^(pending|provisioning|ready|failed)$/);
    const tree = await readTree('openKitchen.environment');
    assert.equal(tree[0].label, workshopTitle);
    assert.ok(STATUS_LABELS.includes(tree[1].label), `status row is "${tree[1].label}"`);
  });

  it('a used invite is refused and the session stays', async () => {
    takeErrorMessages();
    const result = await vscode.commands.executeCommand('openKitchen.signIn', invites[0].link);
    assert.equal(result, undefined, 'redeeming the same invite twice must fail');
    // What the attendee reads: the organizer's refusal, not some other failure.
    assert.deepEqual(takeErrorMessages().filter((m) => /already (been )?used/i.test(m)).length, 1, 'one message says the invite was used');
    const tree = await readTree('openKitchen.environment');
    assert.equal(tree[0].description, invites[0].email);
  });

  it('Sign Out forgets the session and empties the views', async () => {
    const changed = nextSessionChange();
    await vscode.commands.executeCommand('openKitchen.signOut', { confirm: false });
    await changed;
    assert.equal(await vscode.authentication.getSession('openKitchen', [], { silent: true }), undefined);
    assert.deepEqual(await waitForTree('openKitchen.environment', (t) => t.length === 0), []);
    assert.deepEqual(await readTree('openKitchen.labs'), []);
  });

  it('the invite link opened as a URI signs in through the URI handler', async function () {
    if (invites.length < 2) this.skip();
    // The mail's link says vscode://; this build of VS Code answers to its own scheme.
    const link = vscode.Uri.parse(invites[1].link);
    const uri = link.with({ scheme: vscode.env.uriScheme });
    const changed = nextSessionChange();
    await vscode.commands.executeCommand('vscode.open', uri);
    await changed;
    const tree = await waitForTree('openKitchen.environment', (t) => t.length >= 2);
    assert.equal(tree[0].description, invites[1].email);
    await vscode.commands.executeCommand('openKitchen.signOut', { confirm: false });
  });
});
