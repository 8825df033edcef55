/**
 * Output-path safety for every command that writes (train, export, vocab, build-pairs, experiment,
 * checkpoints): outputs are checked before any work (writable, and neither an input, nor inside one, nor
 * holding one, resolved through symlinks), never replace a non-empty file with an empty result, are
 * written under a temporary name inside their own folder (same file system, so the rename is atomic)
 * and renamed into place, an existing run or model folder is only replaced with --overwrite, and one
 * output folder has one writer at a time (lockOutDir).
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
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
import { EMBEDDED_NAME } from '../src/lib/formats/model-spec';

const PARTIAL = /^\..*\.(\d+)-[a-z0-9]+\.partial$/;

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
    if (!inp.path || inp.path === EMBEDDED_NAME) continue;
    const ir = realish(inp.path);
    const what =
      outReal === ir
        ? 'would write over'
        : within(outReal, ir)
          ? 'lies inside'
          : ownFiles !== null && within(ir, outReal)
            ? 'holds'
            : null;
    if (what)
      throw new UsageError(
        `${label}: ${out} ${what} the input given as --${inp.flag} (${inp.path}); choose an output apart from every input`,
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
 * Temporary files live in the target's own folder (so the rename never crosses a file system) under a
 * hidden name carrying the writer's pid; `removeStalePartials` clears what a killed writer left.
 */
function tmpName(path: string): string {
  const abs = resolve(path);
  return join(dirname(abs), `.${basename(abs)}.${process.pid}-${Math.random().toString(36).slice(2, 8)}.partial`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes, in dir and the folders below it, the temporary files of writers that are no longer running. */
export function removeStalePartials(dir: string): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return; /* no folder yet, or unreadable: nothing to clean */
  }
  for (const e of entries) {
    const m = PARTIAL.exec(e.name);
    if (e.isFile() && m && (Number(m[1]) === process.pid || !alive(Number(m[1]))))
      rmSync(join(dir, e.name), { force: true });
    else if (e.isDirectory() && !e.isSymbolicLink()) removeStalePartials(join(dir, e.name));
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
 * of them are complete are they renamed into place, so a failure midway (full disk, kill) leaves the
 * folder's earlier files untouched. `marker` (the file that makes the folder what it is: config.json of
 * a model, adapter_config.json of an adapter) is removed before the others are renamed and renamed
 * last, so the folder is never a mix of old and new files that looks complete. Returns the names written.
 */
export function atomicWriteFiles(
  dir: string,
  files: Iterable<[string, Uint8Array | string]>,
  opts: { marker?: string } = {},
): string[] {
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
  const marker = opts.marker === undefined ? null : resolve(dir, opts.marker);
  const last = temps.filter(([, f]) => f === marker);
  if (last.length > 0) tryUnlink(marker!);
  for (const [tmp, final] of [...temps.filter(([, f]) => f !== marker), ...last]) renameSync(tmp, final);
  return list.map(([n]) => n);
}

/** The lock file a writer holds in its output folder. */
export const LOCK_FILE = '.clo-lock';

/**
 * Takes the output folder for this process: creates it when missing and writes LOCK_FILE (pid and
 * command line) exclusively. A folder locked by a running process is refused, naming it; a lock whose
 * process is gone is taken over. The lock goes when the process exits (also on a signal's exit), with
 * the folder when this call created it and nothing was written; a killed process's lock is taken over
 * by the next writer, which also removes the temporary files killed writers left in the folder
 * (removeStalePartials). Returns the release function.
 */
export function lockOutDir(dir: string, command: string): () => void {
  const path = join(dir, LOCK_FILE);
  const created = !existsSync(dir);
  mkdirSync(dir, { recursive: true });
  const me = JSON.stringify({ pid: process.pid, command: `${command} ${process.argv.slice(2).join(' ')}`.trim() });
  for (let attempt = 0; ; attempt++) {
    try {
      writeFully(path, me);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) {
        const code = (err as NodeJS.ErrnoException).code ?? String(err);
        throw new UsageError(`${command}: cannot lock ${dir} (${code})`);
      }
      let holder: { pid?: unknown; command?: unknown } = {};
      try {
        holder = JSON.parse(readFileSync(path, 'utf8')) as typeof holder;
      } catch {
        /* unreadable or half-written lock: its writer was killed while writing it */
      }
      const pid = typeof holder.pid === 'number' ? holder.pid : 0;
      if (pid > 0 && pid !== process.pid && alive(pid))
        throw new UsageError(
          `${command}: ${dir} is being written by another run (pid ${pid}: ${String(holder.command ?? '?').slice(0, 200)}); wait for it to finish or choose another --out`,
        );
      tryUnlink(path);
    }
  }
  // the folder is ours now: what killed writers left in it goes (an interrupted --overwrite's partial files)
  removeStalePartials(dir);
  const release = () => {
    try {
      if ((JSON.parse(readFileSync(path, 'utf8')) as { pid?: number }).pid === process.pid) unlinkSync(path);
    } catch {
      /* already gone */
    }
    // a run that failed before writing anything leaves no empty folder behind
    try {
      if (created && readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
    } catch {
      /* gone or unreadable: leave it */
    }
    process.off('exit', release);
  };
  process.on('exit', release);
  return release;
}
