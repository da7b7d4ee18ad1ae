/**
 * The secret storage the attendee modules need: VS Code's `SecretStorage` has exactly this shape,
 * so the UI layer adapts `context.secrets`, and tests use `InMemorySecretStore`.
 */
import { Emitter, type Disposable, type Event } from '../common/events';

export interface SecretStore {
  get(key: string): Promise<string | undefined>;
  store(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Fires with the changed key, also for changes made by another window. */
  readonly onDidChange: Event<{ key: string }>;
}

/** Prefixes every key, and reports only changes to its own keys with the prefix removed. */
export class NamespacedSecretStore implements SecretStore, Disposable {
  private readonly emitter = new Emitter<{ key: string }>();
  readonly onDidChange = this.emitter.event;
  private readonly prefix: string;
  private readonly subscription: Disposable;

  constructor(private readonly inner: SecretStore, namespace: string) {
    this.prefix = `${namespace}.`;
    this.subscription = inner.onDidChange(({ key }) => {
      if (key.startsWith(this.prefix)) this.emitter.fire({ key: key.slice(this.prefix.length) });
    });
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }

  get(key: string): Promise<string | undefined> {
    return this.inner.get(this.prefix + key);
  }

  store(key: string, value: string): Promise<void> {
    return this.inner.store(this.prefix + key, value);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(this.prefix + key);
  }
}

/** For tests and headless use; behaves like SecretStorage (events only on real changes). */
export class InMemorySecretStore implements SecretStore {
  readonly values = new Map<string, string>();
  private readonly emitter = new Emitter<{ key: string }>();
  readonly onDidChange = this.emitter.event;

  async get(key: string): Promise<string | undefined> {
    return this.values.get(key);
  }

  async store(key: string, value: string): Promise<void> {
    if (this.values.get(key) === value) return;
    this.values.set(key, value);
    this.emitter.fire({ key });
  }

  async delete(key: string): Promise<void> {
    if (!this.values.delete(key)) return;
    this.emitter.fire({ key });
  }
}
