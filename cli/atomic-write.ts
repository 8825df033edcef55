import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Writes `dir/name` atomically: the bytes go to a temporary file beside `dir` (not inside it, so the
 * folder never holds a partial file), are flushed, then renamed over the target (same filesystem).
 */
export function writeFileAtomic(dir: string, name: string, data: Uint8Array | string): void {
  const target = resolve(dir, name);
  const tmp = join(dirname(resolve(dir)), `.${basename(resolve(dir))}.${name.replaceAll('/', '_')}.${process.pid}.partial`);
  const fd = openSync(tmp, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, target);
}

/** Removes temporary files a killed writer left beside `dir`. */
export function removeStalePartials(dir: string): void {
  const parent = dirname(resolve(dir));
  const prefix = `.${basename(resolve(dir))}.`;
  try {
    for (const f of readdirSync(parent)) if (f.startsWith(prefix) && f.endsWith('.partial')) rmSync(join(parent, f), { force: true });
  } catch {
    /* parent unreadable: nothing to clean */
  }
}
