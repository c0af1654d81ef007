/**
 * A typed event, shaped like VS Code's `Event<T>` (a function taking a listener and returning
 * something to dispose), so the extension can hand the core's events to VS Code APIs as they
 * are while the core stays free of `vscode`.
 */
export interface Subscription {
  dispose(): void;
}

export type Event<T> = (listener: (value: T) => unknown) => Subscription;

export class Emitter<T> {
  private readonly listeners = new Set<(value: T) => unknown>();

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(value: T): void {
    // A copy: a listener may unsubscribe (or subscribe another) while we iterate.
    for (const listener of [...this.listeners]) listener(value);
  }

  dispose(): void {
    this.listeners.clear();
  }
}
