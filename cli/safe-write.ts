/**
 * Output-path safety for every command that writes (issue 16): outputs are checked before any work,
 * never land on an input, never replace a non-empty file with an empty result, are written under a
 * temporary name and renamed into place, and an existing run or model folder is only replaced with
 * --overwrite.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, parse, relative, resolve, isAbsolute } from 'node:path';
import { UsageError } from './args';

/** An input the output must not touch: the flag that named it and its path. */
export interface InputPath {
  flag: string;
  path: string | undefined | null;
}

/** Trees the runner never writes into (kernel and device file systems: writes there fail or never end). */
const SYSTEM_ROOTS = ['/proc', '/sys', '/dev'];

/** Resolves through symlinks as far as the path exists, then appends the part that does not exist yet. */
function realish(p: string): string {
  let head = resolve(p);
  const tail: string[] = [];
  for (;;) {
    if (existsSync(head)) {
      try {
        return join(realpathSync(head), ...tail);
      } catch {
        return join(head, ...tail);
      }
    }
    const up = dirname(head);
    if (up === head) return join(head, ...tail);
    tail.unshift(parse(head).base);
    head = up;
  }
}

/** true when `inner` is `outer` or inside it. */
function within(inner: string, outer: string): boolean {
  const r = relative(outer, inner);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}

/** The nearest existing ancestor of p (p itself when it exists). */
function existingAncestor(p: string): string {
  let cur = resolve(p);
  while (!existsSync(cur)) {
    const up = dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  return cur;
}

/** Creates and removes a probe file in dir, so an unwritable folder is found before any work. */
function probeWritable(dir: string, label: string): void {
  const probe = join(dir, `.clo-probe-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new UsageError(`${label}: cannot write in ${dir} (${code})`);
  }
}

function common(command: string, flag: string, path: string | undefined): { abs: string; real: string; label: string } {
  const label = `${command}: flag --${flag}`;
  if (path === undefined || path.trim() === '') throw new UsageError(`${label} needs a path, got "${path ?? ''}"`);
  const abs = resolve(path);
  const real = realish(abs);
  if (dirname(real) === real)
    throw new UsageError(`${label}: ${path} is the root of the file system; choose a folder of its own`);
  for (const root of SYSTEM_ROOTS)
    if (within(real, root)) throw new UsageError(`${label}: ${path} is inside ${root}, which holds no ordinary files`);
  const anc = existingAncestor(real);
  if (!statSync(anc).isDirectory() && anc !== real)
    throw new UsageError(`${label}: ${anc} is a file, so ${path} cannot be created`);
  return { abs, real, label };
}

function checkInputs(
  label: string,
  out: string,
  outReal: string,
  inputs: InputPath[],
  ownFiles: string[] | null,
): void {
  for (const inp of inputs) {
    if (!inp.path || inp.path === 'stories260K') continue;
    const ir = realish(inp.path);
    const rel = relative(outReal, ir).split('\\').join('/');
    const clash = outReal === ir || (ownFiles !== null && ownFiles.includes(rel));
    if (clash)
      throw new UsageError(
        `${label}: ${out} would write over the input given as --${inp.flag} (${inp.path}); choose another output`,
      );
  }
}

/**
 * An output file (`--out FILE`): not empty, not an input, not a folder, in a folder that exists or can be
 * created and is writable. Call before any work.
 */
export function checkOutFile(command: string, flag: string, path: string | undefined, inputs: InputPath[]): string {
  const { abs, real, label } = common(command, flag, path);
  checkInputs(label, path!, real, inputs, null);
  if (existsSync(real) && !statSync(real).isFile()) throw new UsageError(`${label}: ${path} exists and is not a file`);
  probeWritable(existsSync(dirname(real)) ? dirname(real) : existingAncestor(real), label);
  return abs;
}

/**
 * An output folder (`--out DIR`): not empty, not an input (nor inside one, nor holding one), not a file,
 * creatable and writable; when it already holds any of `ownFiles` (an earlier run or model), refused
 * unless --overwrite. Call before any work.
 */
export function checkOutDir(
  command: string,
  flag: string,
  path: string | undefined,
  inputs: InputPath[],
  opts: { overwrite?: boolean; ownFiles: string[] },
): string {
  const { abs, real, label } = common(command, flag, path);
  checkInputs(label, path!, real, inputs, opts.ownFiles);
  if (existsSync(real)) {
    if (!statSync(real).isDirectory()) throw new UsageError(`${label}: ${path} exists and is not a folder`);
    const present = opts.ownFiles.filter((f) => existsSync(join(real, f)));
    if (present.length > 0 && !opts.overwrite) {
      throw new UsageError(
        `${label}: ${path} already holds ${present.join(', ')}; pass --overwrite to replace them, or choose another folder`,
      );
    }
    probeWritable(real, label);
  } else probeWritable(existingAncestor(real), label);
  return abs;
}

/**
 * Temporary files live beside the target's folder, not inside it, so a folder never holds a partial
 * file even after SIGKILL; `removeStalePartials` clears what a killed writer left there.
 */
function tmpName(path: string): string {
  const dir = dirname(resolve(path));
  return join(
    dirname(dir),
    `.${basename(dir)}.${basename(path)}.${process.pid}-${Math.random().toString(36).slice(2, 8)}.partial`,
  );
}

/** Removes temporary files a killed writer left beside `dir`. */
export function removeStalePartials(dir: string): void {
  const parent = dirname(resolve(dir));
  const prefix = `.${basename(resolve(dir))}.`;
  try {
    for (const f of readdirSync(parent))
      if (f.startsWith(prefix) && f.endsWith('.partial')) rmSync(join(parent, f), { force: true });
  } catch {
    /* parent unreadable: nothing to clean */
  }
}

function writeFully(path: string, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = openSync(path, 'wx');
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function tryUnlink(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    /* already gone */
  }
}

/**
 * Writes one file under a temporary name beside it, then renames it into place: a failed write
 * (full disk, killed process) leaves the earlier file as it was. Refuses to replace a non-empty
 * file with empty content.
 */
export function atomicWriteFile(path: string, data: Uint8Array | string): void {
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (size === 0 && existsSync(path) && statSync(path).size > 0)
    throw new Error(`${path}: not replaced by an empty result (the file is left as it was)`);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tmpName(path);
  try {
    writeFully(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    tryUnlink(tmp);
    throw new Error(
      `${path}: write failed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the earlier file, if any, is unchanged`,
      { cause: err },
    );
  }
}

/**
 * Writes a set of files into a folder: every file goes to a temporary name first, and only when all
 * of them are complete are they renamed into place, so a failure midway leaves the folder's earlier
 * files untouched. Returns the names written.
 */
export function atomicWriteFiles(dir: string, files: Iterable<[string, Uint8Array | string]>): string[] {
  const list = [...files];
  const temps: [string, string][] = [];
  try {
    for (const [name, data] of list) {
      const final = resolve(dir, name);
      if (!within(final, resolve(dir))) throw new Error(`${name}: outside the output folder`);
      mkdirSync(dirname(final), { recursive: true });
      const tmp = tmpName(final);
      temps.push([tmp, final]);
      writeFully(tmp, data);
    }
  } catch (err) {
    for (const [tmp] of temps) tryUnlink(tmp);
    throw new Error(
      `${dir}: write failed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); nothing in the folder was replaced`,
      { cause: err },
    );
  }
  for (const [tmp, final] of temps) renameSync(tmp, final);
  return list.map(([n]) => n);
}

/** true when the folder has entries (used to word messages). */
export function isNonEmptyDir(dir: string): boolean {
  return existsSync(dir) && statSync(dir).isDirectory() && readdirSync(dir).length > 0;
}
