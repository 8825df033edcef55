/**
 * Environment-neutral loading of evaluation data. The engine only sees bytes: a `DataSource`
 * returns the bytes of a data file (browser: fetch from `public/data/`; Node: read a file in cli/).
 * Bundled files are gzip-compressed (`*.jsonl.gz`); plain JSONL is accepted too.
 */
import { gunzipSync, strFromU8 } from 'fflate';
import { parseRecords } from '../data/parse';
import { RowMappingError, type EvalTask, type McDoc, type SplitName } from './tasks';

export interface DataSource {
  /** A short description for error messages, e.g. 'public/data' or a URL. */
  readonly label: string;
  /**
   * Bytes of `relPath` (e.g. 'kobest/boolq.test.jsonl') or of its gzip variant (`relPath + '.gz'`);
   * rejects when neither exists.
   */
  read(relPath: string): Promise<Uint8Array>;
}

/** A document with where it came from, for error messages and drill-down. */
export interface LoadedDoc extends McDoc {
  /** 1-based line in the data file */
  line: number;
}

/** Decodes gzip (detected by its magic bytes, not the name) or plain UTF-8. */
export function decodeDataBytes(bytes: Uint8Array): string {
  const gz = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  return gz ? strFromU8(gunzipSync(bytes)) : strFromU8(bytes);
}

/** Maps JSONL text to documents; the first bad row throws naming file and line. */
export function parseTaskDocs(task: EvalTask, text: string, fileName: string): LoadedDoc[] {
  const parsed = parseRecords(text, fileName);
  if (parsed.fileError) throw new Error(`${fileName}: ${parsed.fileError}`);
  if (parsed.errors.length > 0) {
    const e = parsed.errors[0];
    throw new Error(`${fileName} line ${e.line}: ${e.message}`);
  }
  return parsed.records.map((rec) => {
    const v = rec.value;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new Error(`${fileName} line ${rec.line}: expected a JSON object`);
    }
    try {
      return { ...task.toDoc(v as Record<string, unknown>), line: rec.line };
    } catch (err) {
      if (err instanceof RowMappingError)
        throw new Error(`${fileName} line ${rec.line} (${task.name}): ${err.message}`, { cause: err });
      throw err;
    }
  });
}

export async function loadTaskDocs(task: EvalTask, split: SplitName, source: DataSource): Promise<LoadedDoc[]> {
  const rel = task.files[split];
  if (!rel) throw new Error(`task ${task.name} has no split "${split}"`);
  let bytes: Uint8Array;
  try {
    bytes = await source.read(rel);
  } catch (err) {
    throw new Error(`${source.label}/${rel}: cannot read (${err instanceof Error ? err.message : String(err)})`, {
      cause: err,
    });
  }
  return parseTaskDocs(task, decodeDataBytes(bytes), `${source.label}/${rel}`);
}

/** Browser (and any fetch-capable runtime with http URLs): reads `${base}/${rel}.gz`, then `${base}/${rel}`. */
export function fetchDataSource(base: string, fetchFn: typeof fetch = fetch): DataSource {
  const root = base.replace(/\/+$/, '');
  return {
    label: root,
    async read(rel: string): Promise<Uint8Array> {
      for (const url of [`${root}/${rel}.gz`, `${root}/${rel}`]) {
        const res = await fetchFn(url);
        // a dev server answers unknown paths with index.html: not data
        const html = (res.headers.get('content-type') ?? '').includes('text/html');
        if (res.ok && !html) return new Uint8Array(await res.arrayBuffer());
      }
      throw new Error(`not found (tried ${rel}.gz and ${rel})`);
    },
  };
}
