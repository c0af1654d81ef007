/**
 * Whether anything changed in a folder since its last walk, so a sync can skip walking it
 * (an agent's run after run). Each walked directory is watched (inotify, one watch each,
 * before it is listed, so nothing between the watch and the listing is missed); any event
 * in any of them makes the folder dirty until the next walk. A watch that cannot be set
 * (too many, no permission) leaves it dirty for good: the sync then always walks.
 */
import { watch, type FSWatcher } from 'node:fs';

export class FolderWatch {
  private watchers: FSWatcher[] = [];
  private dirty = true;
  private broken = false;

  /** True when no file event came since the last walk, and every directory is watched. */
  async isClean(): Promise<boolean> {
    // A change made just before this call is already queued by the kernel: one turn of the
    // event loop (through its poll phase) delivers it.
    await new Promise((resolve) => setTimeout(resolve, 0));
    return !this.dirty && !this.broken;
  }

  /** A walk starts: forget the old watches; `watchDirectory` each directory as it is walked. */
  walkStarts(): void {
    this.close();
    this.dirty = false;
  }

  watchDirectory(absDir: string): void {
    if (this.broken) return;
    try {
      const w = watch(absDir, { persistent: false }, () => (this.dirty = true));
      w.on('error', () => (this.dirty = true));
      this.watchers.push(w);
    } catch {
      this.broken = true;
      this.close();
    }
  }

  /** The walk failed: nothing is known. */
  walkFailed(): void {
    this.dirty = true;
  }

  close(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }
}
