import * as vscode from 'vscode';
import { ViewId } from '../ids';
import type { Feature, Services } from '../services';
import { placeholderNodes } from './placeholderNodes';
import { PresentedTreeProvider } from './presentedTree';

/** Registers the views whose models are still to come; see placeholderNodes.ts. */
export class PlaceholderViewsFeature implements Feature {
  constructor(private readonly services: Services) {}

  register(context: vscode.ExtensionContext): void {
    const { watcher, sessionContext } = this.services;
    const views = [ViewId.organizer];
    const providers = views.map((id) => {
      const provider = new PresentedTreeProvider(id);
      context.subscriptions.push(provider, vscode.window.createTreeView(id, { treeDataProvider: provider }));
      return [id, provider] as const;
    });
    const render = () => {
      const signedIn = sessionContext.current.kind === 'signedIn';
      for (const [id, provider] of providers) provider.setRoots(signedIn ? placeholderNodes(id, watcher.snapshot) : []);
    };
    context.subscriptions.push(watcher.onDidChange(render), sessionContext.onDidChange(render));
    render();
  }
}
