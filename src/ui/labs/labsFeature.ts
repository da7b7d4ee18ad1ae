import * as fs from 'node:fs';
import * as path from 'node:path';
import MarkdownIt from 'markdown-it';
import * as vscode from 'vscode';
import { anyOf } from '../../common/events';
import { LabSession, loadLabs, parseLabControllerState, type CheckResult, type LabControllerState, type LabLink } from '../../labs';
import { labsRoots } from '../../views';
import { UserCancelledError } from '../commands/runCommand';
import { CommandId, ViewId } from '../../views/ids';
import type { Feature, Services } from '../services';
import { showView } from '../views/viewTree';
import { labClusterCommands } from './labClusterCommands';

/**
 * The Labs view, the step panel and the lab commands. Labs come from the workspace's `labs/`
 * folder (the workshop's files), else from the ones this extension ships. Progress is kept per
 * attendee in the extension's global state and reported to the organizer; checks run against
 * the live cluster, by hand or by themselves when the cluster changes.
 */
export class LabsFeature implements Feature {
  private labs: LabSession | undefined;
  private root = '';
  private panel: vscode.WebviewPanel | undefined;
  private shown: { labId: string; stepId: string } | undefined;
  /** Made on the first render of a step: markdown-it is loaded then, not at activation (bench/README.md). */
  private mdInstance: MarkdownIt | undefined;
  private get md(): MarkdownIt {
    return (this.mdInstance ??= new MarkdownIt({ html: false, linkify: true }));
  }

  constructor(private readonly services: Services) {}

  register(context: vscode.ExtensionContext): void {
    const { commands, sessionContext, cluster, log, refresh } = this.services;
    showView(context, refresh, ViewId.labs, {
      roots: () => {
        const l = this.labs;
        if (!l || sessionContext.current.kind !== 'signedIn') return { state: 'welcome' };
        const c = l.controller;
        return labsRoots({ labs: l.labs, problems: l.problems, status: (id) => c.status(id), progress: (id) => c.progress(id) });
      },
    });
    const render = () => {
      refresh.mark(ViewId.labs);
      if (this.shown) this.renderPanel();
    };

    let setups = 0;
    const setup = async () => {
      const mine = ++setups;
      this.labs?.dispose();
      this.labs = undefined;
      if (sessionContext.current.kind !== 'signedIn') return render();
      const session = await this.services.session.store.getSession();
      if (!session || mine !== setups) return render();
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
      const root = folder && fs.existsSync(path.join(folder, 'labs')) ? folder : context.extensionPath;
      const loaded = await loadLabs({ dir: path.join(root, 'labs'), workspaceRoot: root });
      if (mine !== setups) return;
      this.root = root;
      for (const p of loaded.problems) log.warn(`Lab file problem: ${p.file}${p.step ? ` (step ${p.step})` : ''}: ${p.message}`);
      const key = `openKitchen.labs/${session.apiUrl}/${session.workshop.name}/${session.attendee.email}`;
      const saved = parseLabControllerState(context.globalState.get(key));
      if (saved.error) log.warn(saved.error);
      const labs = new LabSession({
        labs: loaded.labs,
        problems: loaded.problems,
        state: saved.state,
        // Checks read the cluster through the one cluster session: its tunnel, token and log.
        reader: () => (cluster.state === 'connected' ? cluster.session?.labReader(this.root) : undefined),
        connected: () => cluster.state === 'connected',
        onDidChangeCluster: anyOf(cluster.onDidChangeCluster, cluster.onDidChange),
        save: async (state: LabControllerState) => {
          await context.globalState.update(key, state);
        },
        report: async (report) => {
          await this.services.session.call((client) => client.reportProgress(report));
        },
        log,
      });
      labs.onDidChange(() => render());
      this.labs = labs;
      render();
    };

    context.subscriptions.push(
      sessionContext.onDidChange(() => void setup()),
      { dispose: () => (this.labs?.dispose(), this.panel?.dispose()) },
      commands.register(CommandId.startLab, (labId) => this.startLab(labId)),
      commands.register(CommandId.openLabStep, (step) => {
        if (!step) throw new Error('Choose a step in the Labs view.');
        this.openStep(step.labId, step.stepId);
      }),
      commands.register(CommandId.checkStep, (labId) => this.checkStep(labId)),
      commands.register(CommandId.showHint, (labId) => this.showHint(labId)),
      commands.register(CommandId.showSolution, (labId) => this.showSolution(labId)),
      commands.register(CommandId.nextStep, (labId) => this.nextStep(labId)),
      commands.register(CommandId.resetLab, (labId) => this.resetLab(labId)),
      ...labClusterCommands(this.services),
    );
    void setup();
  }

  private requireLabs(): LabSession {
    if (!this.labs) throw new Error('Sign in first: the labs follow your own progress.');
    return this.labs;
  }

  /** The lab a command is about: the one given, the one on show, the one in progress, or asked. */
  private async pickLab(labId: string | undefined, purpose: string, filter: (id: string) => boolean = () => true): Promise<string> {
    const l = this.requireLabs();
    const c = l.controller;
    if (labId !== undefined) {
      c.lab(labId); // an unknown lab is an error, not a silent pick of another one
      return labId;
    }
    if (this.shown && filter(this.shown.labId)) return this.shown.labId;
    const active = l.labs.filter((x) => c.status(x.id) === 'in-progress' && filter(x.id));
    if (active.length === 1) return active[0]!.id;
    const candidates = l.labs.filter((x) => filter(x.id));
    const pick = await vscode.window.showQuickPick(
      candidates.map((l) => ({ label: l.title, description: `${c.status(l.id)} · ${l.duration} min${l.optional ? ' · optional' : ''}`, id: l.id })),
      { title: purpose, placeHolder: candidates.length ? 'Which lab?' : 'No lab fits' },
    );
    if (!pick) throw new UserCancelledError();
    return pick.id;
  }

  private async startLab(labId?: string): Promise<void> {
    const c = this.requireLabs().controller;
    const id = await this.pickLab(labId, 'Start Lab', (l) => c.status(l) !== 'locked');
    const view = (await c.start(id)) ?? c.current(id);
    if (view) this.openStep(id, view.step.id);
  }

  private openStep(labId: string, stepId: string): void {
    this.shown = { labId, stepId };
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel('openKitchen.labStep', 'Lab', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: true, enableCommandUris: true, localResourceRoots: [] });
      this.panel.onDidDispose(() => {
        this.panel = undefined;
        this.shown = undefined;
      });
      this.panel.webview.onDidReceiveMessage((msg: { command?: string }) => {
        const id = this.shown?.labId;
        const run: Record<string, CommandId> = { check: CommandId.checkStep, hint: CommandId.showHint, solution: CommandId.showSolution, next: CommandId.nextStep };
        if (msg.command && run[msg.command]) void vscode.commands.executeCommand(run[msg.command]!, id);
      });
    }
    this.renderPanel();
    this.panel.reveal(undefined, true);
  }

  private async checkStep(labId?: string): Promise<CheckResult> {
    const labs = this.requireLabs();
    const c = labs.controller;
    const id = await this.pickLab(labId, 'Check Step', (l) => c.status(l) === 'in-progress');
    const { step, result } = await labs.check(id);
    this.renderPanel();
    if (result.ok) {
      const next = c.current(id);
      const choice = await vscode.window.showInformationMessage(`✓ ${step.title}: ${result.summary}`, ...(next ? ['Next Step'] : []));
      if (choice === 'Next Step') await this.nextStep(id);
    } else {
      void vscode.window.showWarningMessage(`Not yet: ${result.summary}${result.details.length ? ` — ${result.details.slice(0, 2).join('; ')}` : ''}`);
    }
    return result;
  }

  private async showHint(labId?: string): Promise<void> {
    const c = this.requireLabs().controller;
    const id = await this.pickLab(labId, 'Show Hint', (l) => c.status(l) === 'in-progress');
    const step = this.shown?.labId === id ? this.shown.stepId : c.current(id)?.step.id;
    if (!step) throw new Error('This lab has no step in progress.');
    const hint = await c.nextHint(id, step);
    void vscode.window.showInformationMessage(hint ? `Hint ${hint.index + 1} of ${hint.total}: ${hint.hint}` : 'This step has no hints.');
  }

  private async showSolution(labId?: string): Promise<void> {
    const c = this.requireLabs().controller;
    const id = await this.pickLab(labId, 'Show Solution', (l) => c.status(l) === 'in-progress');
    const step = this.shown?.labId === id ? this.shown.stepId : c.current(id)?.step.id;
    if (!step) throw new Error('This lab has no step in progress.');
    const ok = await vscode.window.showWarningMessage('Show the solution?', { modal: true, detail: 'Trying first teaches more; the hints may be enough. Your organizer sees that the solution was shown.' }, 'Show Solution');
    if (ok !== 'Show Solution') throw new UserCancelledError();
    await c.revealSolution(id, step);
    this.openStep(id, step);
  }

  private async nextStep(labId?: string): Promise<void> {
    const c = this.requireLabs().controller;
    const id = await this.pickLab(labId, 'Next Step');
    const cur = c.current(id);
    if (!cur) {
      void vscode.window.showInformationMessage(c.status(id) === 'done' ? `"${c.lab(id).title}" is complete.` : 'Start the lab first.');
      return;
    }
    this.openStep(id, cur.step.id);
  }

  private async resetLab(labId?: string): Promise<void> {
    const c = this.requireLabs().controller;
    const id = await this.pickLab(labId, 'Reset Lab');
    const ok = await vscode.window.showWarningMessage(`Reset "${c.lab(id).title}"?`, { modal: true, detail: 'Its steps go back to the start. The cluster is left as it is.' }, 'Reset Lab');
    if (ok !== 'Reset Lab') throw new UserCancelledError();
    await c.reset(id);
  }

  private renderPanel(): void {
    const l = this.labs;
    const c = l?.controller;
    const panel = this.panel;
    if (!c || !panel || !this.shown) return;
    const lab = c.lab(this.shown.labId);
    const step = lab.steps.find((s) => s.id === this.shown!.stepId);
    if (!step) return;
    const index = lab.steps.indexOf(step);
    const sp = c.progress(lab.id).steps[step.id];
    const status = sp?.status ?? 'locked';
    const result = l!.lastResult(lab.id, step.id);
    panel.title = `${lab.title} · ${index + 1}/${lab.steps.length}`;
    const nonce = Buffer.from(String(Math.random())).toString('base64').replace(/[^A-Za-z0-9]/g, '');
    const body = this.markdown(step.instructions, step.links);
    const solution = sp?.solutionShown && step.solution ? `<section class="solution"><h2>Solution</h2>${this.markdown(step.solution, step.links)}</section>` : '';
    const hints = step.hints.slice(0, sp?.hintsShown ?? 0).map((h, i) => `<li><strong>Hint ${i + 1}.</strong> ${this.md.renderInline(h)}</li>`).join('');
    const check = result ?? (sp?.lastCheck ? { ok: sp.lastCheck.ok, summary: sp.lastCheck.summary, details: [] as string[] } : undefined);
    panel.webview.html = `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 16px 24px; line-height: 1.5; }
h1 { font-size: 1.4em; } code, pre { font-family: var(--vscode-editor-font-family); background: var(--vscode-textCodeBlock-background); }
pre { padding: 8px; overflow-x: auto; } a { color: var(--vscode-textLink-foreground); }
.status { padding: 6px 10px; border-left: 3px solid var(--vscode-charts-blue); background: var(--vscode-editorWidget-background); margin: 12px 0; }
.status.ok { border-color: var(--vscode-testing-iconPassed); } .status.fail { border-color: var(--vscode-testing-iconFailed); }
.buttons button { margin-right: 6px; padding: 4px 12px; border: none; color: var(--vscode-button-foreground); background: var(--vscode-button-background); cursor: pointer; }
.buttons button.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
.solution { border-top: 1px solid var(--vscode-panel-border); margin-top: 16px; }
</style></head><body>
<p>${escapeHtml(lab.title)} · step ${index + 1} of ${lab.steps.length} · ${escapeHtml(status)}</p>
<h1>${escapeHtml(step.title)}</h1>
${body}
${hints ? `<ul class="hints">${hints}</ul>` : ''}
${check ? `<div class="status ${check.ok ? 'ok' : 'fail'}" role="status"><strong>${check.ok ? '✓ Done' : 'Not yet'}:</strong> ${escapeHtml(check.summary)}${check.details.length ? `<ul>${check.details.map((d) => `<li>${escapeHtml(d)}</li>`).join('')}</ul>` : ''}</div>` : ''}
<div class="buttons">
<button data-command="check">Check</button><button class="secondary" data-command="hint">Hint</button><button class="secondary" data-command="solution">Solution…</button>${status === 'done' ? '<button class="secondary" data-command="next">Next Step</button>' : ''}
</div>
${solution}
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
for (const b of document.querySelectorAll('button[data-command]')) b.addEventListener('click', () => vscode.postMessage({ command: b.dataset.command }));
</script></body></html>`;
  }

  /** Lab Markdown; links to workspace files (as the loader resolved them) open in the editor. */
  private markdown(text: string, links: LabLink[] = []): string {
    const html = this.md.render(text);
    return html.replace(/href="([^"]+)"/g, (whole, href: string) => {
      if (/^(https?:|command:|#)/.test(href)) return whole;
      const target = this.md.utils.unescapeAll(href);
      const rel = links.find((l) => l.target === target && l.path)?.path ?? target;
      const file = vscode.Uri.file(path.join(this.root, rel));
      return `href="command:vscode.open?${encodeURIComponent(JSON.stringify([file]))}"`;
    });
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
