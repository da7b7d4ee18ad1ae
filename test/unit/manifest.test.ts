/**
 * package.json contributions and src/views/ids.ts must agree both ways, every command id must be
 * registered in code through the ids module, and every menu must pass its command what the
 * command accepts (src/views/commandArgs.ts) — a renamed id or a menu on the wrong rows fails
 * here, not in front of an attendee.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { EXTENSION_ID } from '../../src/contract/links';
import { COMMAND_ARGS, contextValuesOf, type ArgKind } from '../../src/views';
import { AuthProviderId, CommandId, ContextKey, SettingId, ViewContainerId, ViewId } from '../../src/views/ids';

const root = path.join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const contributes = pkg.contributes;

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every `when` clause and welcome text in the manifest, for context-key checks. */
function whenClauses(): string[] {
  const out: string[] = [];
  for (const entries of Object.values<{ when?: string }[]>(contributes.menus)) for (const m of entries) if (m.when) out.push(m.when);
  for (const v of Object.values<{ when?: string }[]>(contributes.views)) for (const e of v) if (e.when) out.push(e.when);
  for (const w of contributes.viewsWelcome) if (w.when) out.push(w.when);
  return out;
}

test('the extension id is publisher.name as the invite links expect', () => {
  assert.equal(`${pkg.publisher}.${pkg.name}`, EXTENSION_ID);
  assert.equal(pkg.engines.vscode, '^1.100.0');
});

test('contributed commands and CommandId are the same set', () => {
  assert.deepEqual(sorted(contributes.commands.map((c: { command: string }) => c.command)), sorted(Object.values(CommandId)));
});

test('every command has the "Open Kitchen" category, a title and a codicon', () => {
  for (const c of contributes.commands) {
    assert.equal(c.category, 'Open Kitchen', c.command);
    assert.ok(c.title, c.command);
    assert.match(c.icon, /^\$\([a-z0-9-]+(~spin)?\)$/, `${c.command} icon`);
  }
});

test('every CommandId is registered in src/ through the command runner, exactly once', () => {
  const sources = sourceFiles(path.join(root, 'src')).map((f) => readFileSync(f, 'utf8')).join('\n');
  for (const [key, id] of Object.entries(CommandId)) {
    const hits = sources.match(new RegExp(`commands\\.register\\(\\s*CommandId\\.${key}\\b`, 'g')) ?? [];
    assert.equal(hits.length, 1, `${id} (CommandId.${key}) should be registered once, found ${hits.length}`);
    // Ids are never spelled out elsewhere in code: only ids.ts holds the strings.
    const literal = sourceFiles(path.join(root, 'src'))
      .filter((f) => !f.endsWith(path.join('views', 'ids.ts')))
      .filter((f) => readFileSync(f, 'utf8').includes(`'${id}'`));
    assert.deepEqual(literal, [], `${id} is spelled out outside ids.ts`);
  }
});

test('views and ViewId are the same set, in the Open Kitchen container', () => {
  assert.deepEqual(Object.keys(contributes.views), [ViewContainerId]);
  assert.deepEqual(contributes.viewsContainers.activitybar.map((c: { id: string }) => c.id), [ViewContainerId]);
  assert.deepEqual(sorted(contributes.views[ViewContainerId].map((v: { id: string }) => v.id)), sorted(Object.values(ViewId)));
  const organizer = contributes.views[ViewContainerId].find((v: { id: string }) => v.id === ViewId.organizer);
  assert.equal(organizer.when, ContextKey.isOrganizer);
});

test('settings and SettingId are the same set', () => {
  assert.deepEqual(sorted(Object.keys(contributes.configuration.properties)), sorted(Object.values(SettingId)));
});

test('every menu entry and welcome link names a contributed command', () => {
  const commands = new Set(contributes.commands.map((c: { command: string }) => c.command));
  for (const [menu, entries] of Object.entries<{ command: string }[]>(contributes.menus)) {
    for (const e of entries) assert.ok(commands.has(e.command), `${menu} refers to unknown command ${e.command}`);
  }
  for (const w of contributes.viewsWelcome) {
    for (const m of w.contents.matchAll(/\(command:([^)?]+)/g)) assert.ok(commands.has(m[1]), `welcome of ${w.view} links to unknown ${m[1]}`);
  }
});

test('welcome content targets real views, and the signed-out Environment view offers Sign In', () => {
  const views = new Set<string>(Object.values(ViewId));
  for (const w of contributes.viewsWelcome) assert.ok(views.has(w.view), w.view);
  const signedOut = contributes.viewsWelcome.find(
    (w: { view: string; when: string }) => w.view === ViewId.environment && w.when.includes(`!${ContextKey.signedIn}`),
  );
  assert.match(signedOut.contents, /\[Sign In\]\(command:openKitchen\.signIn\)/);
  assert.match(signedOut.contents, /invite/);
  for (const v of [ViewId.cluster, ViewId.allocations, ViewId.labs]) {
    assert.ok(contributes.viewsWelcome.some((w: { view: string }) => w.view === v), `${v} has welcome content`);
  }
});

test('context keys in when clauses are declared in ContextKey, and every ContextKey is used', () => {
  const ids = new Set<string>([...Object.values(CommandId), ...Object.values(ViewId), ...Object.values(SettingId)]);
  const declared = new Set<string>(Object.values(ContextKey));
  const used = new Set<string>();
  for (const clause of whenClauses()) {
    for (const m of clause.matchAll(/\bopenKitchen\.[A-Za-z.]+/g)) {
      const key = m[0].replace(/\.$/, '');
      if (ids.has(key)) continue;
      assert.ok(declared.has(key), `when clause "${clause}" uses undeclared context key ${key}`);
      used.add(key);
    }
  }
  assert.deepEqual(sorted(used), sorted(declared));
});

test('the palette hides commands that need a session when signed out', () => {
  const palette = new Map(contributes.menus.commandPalette.map((e: { command: string; when: string }) => [e.command, e.when]));
  for (const id of [CommandId.signOut, CommandId.refreshEnvironment, CommandId.copySshCommand]) {
    assert.match(String(palette.get(id)), new RegExp(ContextKey.signedIn.replace('.', '\\.')), id);
  }
  assert.equal(palette.get(CommandId.copyValue), 'false');
});

test('activation is lazy: the URI handler, a workspace with job files (for their CodeLens), and what VS Code derives from contributions', () => {
  assert.deepEqual(pkg.activationEvents, ['onUri', 'workspaceContains:**/*.nomad.hcl']);
  assert.deepEqual(contributes.authentication, [{ id: AuthProviderId, label: 'Open Kitchen' }]);
});

test('icons referenced by the manifest exist', () => {
  const icons = [pkg.icon, ...contributes.viewsContainers.activitybar.map((c: { icon: string }) => c.icon)];
  for (const v of contributes.views[ViewContainerId]) icons.push(v.icon);
  for (const icon of new Set(icons)) assert.ok(existsSync(path.join(root, icon)), icon);
  const png = readFileSync(path.join(root, pkg.icon));
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  assert.equal(png.readUInt32BE(16), 128);
  assert.equal(png.readUInt32BE(20), 128);
});

const accepts = (id: string): readonly ArgKind[] => COMMAND_ARGS[id as CommandId].accepts;

test('every command declares what it accepts', () => {
  assert.deepEqual(sorted(Object.keys(COMMAND_ARGS)), sorted(Object.values(CommandId)));
});

test('every row menu passes its command a row the command accepts, and matches at least one row', () => {
  for (const entry of contributes.menus['view/item/context'] as { command: string; when: string }[]) {
    const view = /\bview == (\S+)/.exec(entry.when)?.[1];
    const item = /\bviewItem =~ \/(.+?)\/(?= |$)/.exec(entry.when)?.[1];
    assert.ok(view && item, `${entry.command}: a row menu names its view and its rows (${entry.when})`);
    const re = new RegExp(item);
    const rows = contextValuesOf(view as (typeof ViewId)[keyof typeof ViewId]).filter((r) => re.test(r.value));
    assert.ok(rows.length > 0, `${entry.command} in ${view}: /${item}/ matches no row the view can show`);
    for (const kind of new Set(rows.map((r) => r.kind))) {
      assert.ok(accepts(entry.command).includes(`row:${kind}`), `${entry.command} is offered on ${kind} rows of ${view} (/${item}/), but accepts only ${accepts(entry.command).join(', ')}`);
    }
  }
});

test('what the palette, title bars, welcome links and walkthroughs run takes no argument', () => {
  const bare: [string, string][] = [];
  for (const e of contributes.menus.commandPalette as { command: string; when?: string }[]) if (e.when !== 'false') bare.push([e.command, 'the command palette']);
  for (const e of contributes.menus['view/title'] as { command: string }[]) bare.push([e.command, 'a view title bar']);
  for (const e of (contributes.menus['editor/title'] ?? []) as { command: string }[]) bare.push([e.command, 'the editor title bar']);
  for (const w of contributes.viewsWelcome) for (const m of w.contents.matchAll(/\(command:([^)?]+)\)/g)) bare.push([m[1], `the welcome of ${w.view}`]);
  for (const wt of contributes.walkthroughs ?? []) {
    for (const step of wt.steps) for (const m of String(step.description).matchAll(/\(command:([^)?]+)\)/g)) bare.push([m[1], `walkthrough step ${step.id}`]);
  }
  const ids = new Set<string>(Object.values(CommandId));
  for (const [command, where] of bare) {
    if (!ids.has(command)) continue; // VS Code's own commands (walkthrough links to settings…)
    assert.ok(accepts(command).includes('none'), `${command} runs from ${where} with no argument, but accepts only ${accepts(command).join(', ')}`);
  }
});

test('a row menu handed the wrong row kind is caught: the check itself works', () => {
  // Reset Lab offered on step rows would need row:step; it accepts it. Copy Value on a lab row would not.
  assert.ok(accepts(CommandId.resetLab).includes('row:step'));
  assert.ok(!accepts(CommandId.copyValue).includes('row:lab'));
  const labRows = contextValuesOf(ViewId.labs).filter((r) => /^lab:/.test(r.value));
  assert.deepEqual(sorted(labRows.map((r) => r.kind)), ['lab']);
});
