import type * as vscode from 'vscode';
import { buildEnvironmentNodes } from '../../attendee';
import type { EnvironmentWatcher } from '../../attendee';
import type { SessionContext } from '../auth/sessionContext';
import { ViewId } from '../ids';
import { PresentedTreeProvider } from '../views/presentedTree';

/**
 * The Environment view: renders the watcher's snapshot through the pure presentation
 * (attendee/environmentPresentation.ts). It never fetches; the watcher does.
 */
export class EnvironmentTreeProvider extends PresentedTreeProvider {
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly watcher: EnvironmentWatcher,
    private readonly sessionContext: SessionContext,
  ) {
    super(ViewId.environment);
    this.subscriptions = [watcher.onDidChange(() => this.render()), sessionContext.onDidChange(() => this.render())];
    this.render();
  }

  private render(): void {
    const state = this.sessionContext.current;
    this.setRoots(buildEnvironmentNodes(this.watcher.snapshot, state.kind === 'signedIn' ? state.session : undefined));
  }

  override dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    super.dispose();
  }
}
