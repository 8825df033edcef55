/**
 * A KeyValueStore kept in one JSON file (Node only): loaded at open, written back atomically
 * (temp file + rename) at most once per `everyMs` while values change, and on flush().
 * Used for the translation cache of `build-pairs`, so an interrupted run can resume.
 * The file's folder is created when missing; a write that fails (no space, no permission) is reported
 * through `onError` (default: one line on stderr), never thrown from the timer, and the entries stay in
 * memory so the next flush can write them.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { KeyValueStore } from '../src/lib/store/types';

export class JsonFileStore implements KeyValueStore {
  private readonly data: Map<string, unknown>;
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    readonly file: string,
    data: Record<string, unknown>,
    private readonly everyMs: number,
    private readonly onError: (message: string) => void,
  ) {
    this.data = new Map(Object.entries(data));
  }

  /** Opens (or starts) the file; a file that is not a JSON object is an error naming it. */
  static open(
    file: string,
    everyMs = 1000,
    onError: (message: string) => void = (m) => process.stderr.write(`warning: ${m}\n`),
  ): JsonFileStore {
    if (!existsSync(file)) return new JsonFileStore(file, {}, everyMs, onError);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`${file}: not a JSON cache file (${err instanceof Error ? err.message : String(err)})`, {
        cause: err,
      });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error(`${file}: expected a JSON object`);
    return new JsonFileStore(file, parsed as Record<string, unknown>, everyMs, onError);
  }

  get size(): number {
    return this.data.size;
  }

  async get<T>(key: string): Promise<T | undefined> {
    return this.data.get(key) as T | undefined;
  }

  async set<T>(key: string, value: T): Promise<void> {
    this.data.set(key, value);
    this.touch();
  }

  async del(key: string): Promise<void> {
    if (this.data.delete(key)) this.touch();
  }

  async keys(prefix = ''): Promise<string[]> {
    return [...this.data.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  /** Writes pending changes now; returns false (after reporting it) when the write failed. Never throws. */
  flush(): boolean {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.dirty) return true;
    const tmp = `${this.file}.tmp-${process.pid}`;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.data)));
      renameSync(tmp, this.file);
      this.dirty = false;
      return true;
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        /* no temp file */
      }
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      this.onError(`translation cache ${this.file} not saved (${code}); ${this.data.size} entries kept in memory`);
      return false;
    }
  }

  private touch(): void {
    this.dirty = true;
    if (!this.timer) this.timer = setTimeout(() => this.flush(), this.everyMs);
  }
}
