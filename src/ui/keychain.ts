import * as vscode from 'vscode';
import { NamespacedSecretStore, type SecretStore } from '../attendee';
import { Emitter } from '../common/events';

/**
 * The only way to secrets: VS Code's SecretStorage (the OS keychain on desktop), with every key
 * under the `openKitchen.` namespace. Nothing secret goes to settings, state or files from here.
 */
export class Keychain implements SecretStore, vscode.Disposable {
  private readonly inner: NamespacedSecretStore;
  private readonly disposables: vscode.Disposable[] = [];
  readonly onDidChange: SecretStore['onDidChange'];

  constructor(secrets: vscode.SecretStorage, namespace = 'openKitchen') {
    const changed = new Emitter<{ key: string }>();
    this.disposables.push(changed, secrets.onDidChange((e) => changed.fire({ key: e.key })));
    const adapter: SecretStore = {
      get: async (key) => secrets.get(key),
      store: async (key, value) => secrets.store(key, value),
      delete: async (key) => secrets.delete(key),
      onDidChange: changed.event,
    };
    this.inner = new NamespacedSecretStore(adapter, namespace);
    this.disposables.push(this.inner);
    this.onDidChange = this.inner.onDidChange;
  }

  get(key: string): Promise<string | undefined> {
    return this.inner.get(key);
  }

  store(key: string, value: string): Promise<void> {
    return this.inner.store(key, value);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  dispose(): void {
    for (const d of this.disposables.reverse()) d.dispose();
  }
}
