import * as vscode from 'vscode';
import { ClusterHttpError } from '../../cluster';
import type { NomadJob } from '../../cluster/schemas';
import { formatPlan, isJobFile, jobBlockLine, problemsFromParseError, problemsFromValidation, type JobProblem } from '../../jobs';
import { requireConnection } from '../allocations/requireConnection';
import { UserCancelledError } from '../commands/runCommand';
import { CommandId, ViewId } from '../../views/ids';
import type { Feature, Services } from '../services';

const SELECTOR: vscode.DocumentSelector = [{ pattern: '**/*.nomad.hcl' }, { pattern: '**/*.nomad' }];
const PLAN_SCHEME = 'open-kitchen-plan';

/**
 * Job files in the editor: CodeLens and commands Validate, Plan, Run, Stop against the
 * attendee's cluster (through the tunnel). Nomad's parse and validation errors become
 * diagnostics at their line and column; Plan opens a read-only document like `nomad job plan`;
 * Run asks first when the plan would stop or replace running allocations.
 */
export class JobFilesFeature implements Feature {
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('nomad');
  private readonly plans = new Map<string, string>();
  /** Job files that showed problems in this session: saving them re-checks them. */
  private readonly checked = new Set<string>();
  private readonly planChanged = new vscode.EventEmitter<vscode.Uri>();

  constructor(private readonly services: Services) {}

  register(context: vscode.ExtensionContext): void {
    const { commands, cluster } = this.services;
    const lensChanged = new vscode.EventEmitter<void>();
    context.subscriptions.push(
      this.diagnostics,
      this.planChanged,
      lensChanged,
      cluster.onDidChange(() => lensChanged.fire()),
      vscode.languages.registerCodeLensProvider(SELECTOR, {
        onDidChangeCodeLenses: lensChanged.event,
        provideCodeLenses: (doc) => {
          const range = new vscode.Range(jobBlockLine(doc.getText()), 0, jobBlockLine(doc.getText()), 0);
          if (cluster.state !== 'connected') {
            return [new vscode.CodeLens(range, { title: '$(plug) Connect to run this job', command: CommandId.connect })];
          }
          return [
            new vscode.CodeLens(range, { title: '$(check) Validate', command: CommandId.validateJobFile, arguments: [doc.uri] }),
            new vscode.CodeLens(range, { title: '$(diff) Plan', command: CommandId.planJobFile, arguments: [doc.uri] }),
            new vscode.CodeLens(range, { title: '$(play) Run', command: CommandId.runJobFile, arguments: [doc.uri] }),
            new vscode.CodeLens(range, { title: '$(debug-stop) Stop', command: CommandId.stopJobFile, arguments: [doc.uri] }),
          ];
        },
      }),
      vscode.workspace.registerTextDocumentContentProvider(PLAN_SCHEME, {
        onDidChange: this.planChanged.event,
        provideTextDocumentContent: (uri) => this.plans.get(uri.toString()) ?? '',
      }),
      // A fixed file loses its stale diagnostics as soon as it changes; saving it re-checks it.
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (isJobFile(e.document.fileName) && e.contentChanges.length) this.diagnostics.delete(e.document.uri);
      }),
      vscode.workspace.onDidSaveTextDocument((doc) => this.recheckOnSave(doc)),
      commands.register(CommandId.validateJobFile, (uri) => this.validate(asUri(uri))),
      commands.register(CommandId.planJobFile, (uri) => this.plan(asUri(uri))),
      commands.register(CommandId.runJobFile, (uri) => this.run(asUri(uri))),
      commands.register(CommandId.stopJobFile, (uri) => this.stop(asUri(uri))),
    );
  }

  private async document(uri?: vscode.Uri): Promise<vscode.TextDocument> {
    const target = uri ?? vscode.window.activeTextEditor?.document.uri;
    if (!target || !isJobFile(target.path)) throw new Error('Open a Nomad job file (*.nomad.hcl) first.');
    return vscode.workspace.openTextDocument(target);
  }

  /** The cluster's client; without a connection, a message that says why and offers Connect. */
  private async nomad() {
    return (await requireConnection(this.services)).nomad;
  }

  /** Parses through the cluster (as `nomad job run` does); parse errors land as diagnostics. */
  private async parse(doc: vscode.TextDocument, quiet = false): Promise<NomadJob | undefined> {
    try {
      const job = await (await this.nomad()).parseJob(doc.getText());
      this.diagnostics.delete(doc.uri);
      return job;
    } catch (err) {
      if (err instanceof ClusterHttpError && err.status === 400) {
        this.show(doc, problemsFromParseError(err.body), quiet);
        return undefined;
      }
      throw err;
    }
  }

  private show(doc: vscode.TextDocument, problems: JobProblem[], quiet = false): void {
    this.checked.add(doc.uri.toString());
    this.diagnostics.set(
      doc.uri,
      problems.map((p) => {
        const range = doc.validateRange(new vscode.Range(p.line, p.column, p.endLine, p.endColumn));
        const d = new vscode.Diagnostic(range, p.message, p.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
        d.source = 'nomad';
        return d;
      }),
    );
    if (!quiet && problems.some((p) => p.severity === 'error')) {
      void vscode.window.showErrorMessage(`${vscode.workspace.asRelativePath(doc.uri)}: ${problems[0]!.message}`, 'Show Problems').then((c) => {
        if (c) void vscode.commands.executeCommand('workbench.actions.view.problems');
      });
    }
  }

  /** Parse + validate; returns the job when it is valid. */
  private async validated(doc: vscode.TextDocument, quiet = false): Promise<NomadJob | undefined> {
    const job = await this.parse(doc, quiet);
    if (!job) return undefined;
    const res = await (await this.nomad()).validateJob(job);
    const problems = problemsFromValidation(res, jobBlockLine(doc.getText()));
    if (problems.length) this.show(doc, problems, quiet);
    return problems.some((p) => p.severity === 'error') ? undefined : job;
  }

  /**
   * Saving a job file that was checked before (it had problems) checks it again, quietly: the
   * Problems panel shows what is left, or nothing once it is fixed. Needs the cluster's parser.
   */
  private recheckOnSave(doc: vscode.TextDocument): void {
    if (!isJobFile(doc.fileName) || !this.checked.has(doc.uri.toString()) || this.services.cluster.state !== 'connected') return;
    this.validated(doc, true).catch((err: unknown) => this.services.log.warn(`Re-checking ${vscode.workspace.asRelativePath(doc.uri)} failed: ${err instanceof Error ? err.message : String(err)}`));
  }

  private async validate(uri?: vscode.Uri): Promise<boolean> {
    const doc = await this.document(uri);
    const job = await this.validated(doc);
    if (job) void vscode.window.showInformationMessage(`Job "${job.ID}" is valid.`);
    return Boolean(job);
  }

  private async plan(uri?: vscode.Uri): Promise<string | undefined> {
    const doc = await this.document(uri);
    const job = await this.validated(doc);
    if (!job) return undefined;
    const plan = await (await this.nomad()).planJob(job, { diff: true });
    const summary = formatPlan(job.ID, plan, { jobType: job.Type ?? undefined });
    const planUri = vscode.Uri.from({ scheme: PLAN_SCHEME, path: `/Plan ${job.ID}.txt` });
    this.plans.set(planUri.toString(), summary.text);
    this.planChanged.fire(planUri);
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(planUri), { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
    return summary.text;
  }

  private async run(uri?: vscode.Uri): Promise<string | undefined> {
    const doc = await this.document(uri);
    const job = await this.validated(doc);
    if (!job) return undefined;
    const nomad = await this.nomad();
    const plan = await nomad.planJob(job, { diff: true });
    const summary = formatPlan(job.ID, plan, { jobType: job.Type ?? undefined });
    if (summary.disruptive > 0) {
      const ok = await vscode.window.showWarningMessage(
        `Running "${job.ID}" stops or replaces ${summary.disruptive} running allocation(s).`,
        { modal: true, detail: summary.text },
        'Run Job',
      );
      if (ok !== 'Run Job') throw new UserCancelledError();
    }
    // EnforceIndex: refuse if someone changed the job since this plan.
    const res = await nomad.registerJob(job, { enforceIndex: plan.JobModifyIndex });
    const failed = summary.failedGroups;
    void vscode.window
      .showInformationMessage(
        `Job "${job.ID}" submitted (evaluation ${res.EvalID.slice(0, 8)}).${failed.length ? ` Not every allocation can be placed: see Plan for task group ${failed.join(', ')}.` : ''}`,
        'Show Allocations',
      )
      .then((choice) => {
        if (choice) void vscode.commands.executeCommand(`${ViewId.allocations}.focus`);
      });
    return res.EvalID;
  }

  private async stop(uri?: vscode.Uri): Promise<void> {
    const doc = await this.document(uri);
    const job = await this.parse(doc);
    if (!job) return;
    const ok = await vscode.window.showWarningMessage(`Stop job "${job.ID}"?`, { modal: true, detail: 'Its allocations stop; the job stays listed as dead until purged.' }, 'Stop Job');
    if (ok !== 'Stop Job') throw new UserCancelledError();
    await (await this.nomad()).stopJob(job.ID, { namespace: job.Namespace ?? undefined });
    void vscode.window.showInformationMessage(`Job "${job.ID}" is stopping.`);
  }
}

/** A file the command was given (CodeLens, editor title), if it was given one. */
export function asUri(arg: unknown): vscode.Uri | undefined {
  return arg instanceof vscode.Uri ? arg : undefined;
}
