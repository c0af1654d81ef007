/**
 * File descriptors the server inherited beyond stdin/stdout/stderr (a launching shell's
 * pipe, a file a parent forgot to close) would be inherited in turn by every bwrap and so by
 * every sandboxed command: `os.read(100)` in a sandbox read a root-only file the server had
 * been started with. They are closed at startup, before anything runs.
 *
 * Which descriptors survive exec cannot be read from /proc/self/fdinfo (its O_CLOEXEC bit
 * also reflects how the file was opened) and Node has no fcntl, so a child shell says which
 * ones it received: exactly the server's descriptors without close-on-exec. libuv opens all
 * of Node's own close-on-exec, and spawn passes the child only its stdio pipes as 0–2.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

/** Closes every descriptor ≥ 3 that a child would inherit; returns the ones closed. */
export function closeInheritedFds(): number[] {
  // `ls` runs as the shell's child, listing the shell's descriptors (`; :` keeps the shell
  // from exec'ing ls, whose own directory descriptor would be listed).
  const r = spawnSync('/bin/sh', ['-c', 'ls /proc/$$/fd; :'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
  if (r.status !== 0) throw new Error(`cannot list inherited file descriptors: ${r.error ?? r.stderr}`);
  // Node's IPC channel with a parent that forked us (not how the extension starts the server).
  const ipcFd = Number(process.env.NODE_CHANNEL_FD ?? -1);
  const closed: number[] = [];
  for (const fd of r.stdout.split('\n').filter(Boolean).map(Number)) {
    if (!(fd >= 3) || fd === ipcFd) continue;
    try {
      fs.closeSync(fd);
      closed.push(fd);
    } catch {
      // already closed
    }
  }
  return closed;
}
