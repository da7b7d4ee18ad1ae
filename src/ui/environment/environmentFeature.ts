import * as vscode from 'vscode';
import { environmentRoots } from '../../views';
import { setContext } from '../context';
import { CommandId, ContextKey, ViewId } from '../../views/ids';
import type { Feature, Services } from '../services';
import { showView } from '../views/viewTree';
import { copySshCommand } from './copySshCommand';
import { copyValueCommand } from './copyValueCommand';
import { refreshEnvironmentCommand } from './refreshEnvironmentCommand';

/** The Environment view, its commands, and the watcher's lifecycle (runs while signed in). */
export class EnvironmentFeature implements Feature {
  constructor(private readonly services: Services) {}

  register(context: vscode.ExtensionContext): void {
    const { services } = this;
    const { watcher, sessionContext, log, refresh } = services;
    const { view } = showView(context, refresh, ViewId.environment, {
      roots: () => environmentRoots(watcher.snapshot, sessionContext.current.kind === 'signedIn' ? sessionContext.current.session : undefined),
    });
    context.subscriptions.push(
      services.commands.register(CommandId.refreshEnvironment, refreshEnvironmentCommand(services)),
      services.commands.register(CommandId.copySshCommand, copySshCommand(services)),
      services.commands.register(CommandId.copyValue, copyValueCommand()),
      watcher.onDidChange((snapshot) => {
        const status = 'environment' in snapshot ? snapshot.environment?.status : undefined;
        void setContext(ContextKey.stackStatus, status ?? '');
        view.message = snapshot.state === 'loaded' && snapshot.nextRefreshAt ? 'Updating by itself while your stack is being built…' : undefined;
        refresh.mark(ViewId.environment);
      }),
      sessionContext.onDidChange((state) => {
        refresh.mark(ViewId.environment);
        if (state.kind === 'signedIn') {
          void watcher.refresh();
          void services.session.refreshProfile().then(
            () => sessionContext.sync(),
            (err: Error) => log.warn(`Could not refresh the attendee profile: ${err.message}`),
          );
        } else {
          watcher.stop();
        }
      }),
    );
  }
}
