/**
 * A minimal event emitter with the same listener shape as `vscode.Event`, so plain modules can
 * raise events that the UI layer subscribes to without either side importing the other.
 */
export interface Disposable {
  dispose(): void;
}

export type Event<T> = (listener: (e: T) => void) => Disposable;

export class Emitter<T> implements Disposable {
  private listeners = new Set<(e: T) => void>();

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(e: T): void {
    // Copy first: a listener may unsubscribe (or subscribe) while we iterate.
    for (const l of [...this.listeners]) l(e);
  }

  dispose(): void {
    this.listeners.clear();
  }
}

/** Resolves on the next event that matches; handy for tests and one-shot waits. */
export function nextEvent<T>(event: Event<T>, matches: (e: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    const sub = event((e) => {
      if (!matches(e)) return;
      sub.dispose();
      resolve(e);
    });
  });
}

/** One event that fires when any of `events` fires (its value dropped): for listeners that only re-read. */
export function anyOf(...events: Event<unknown>[]): Event<void> {
  return (listener) => {
    const subs = events.map((e) => e(() => listener()));
    return { dispose: () => subs.forEach((s) => s.dispose()) };
  };
}
