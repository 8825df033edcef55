/**
 * A JSONL data file read in one pass without keeping its rows, for files too large to hold:
 * each line is parsed, its shape detected and its row normalised (to validate it), then
 * dropped. Kept per record: where it is (byte offset and length), its line and shape, whether it
 * normalised (18 bytes a record). A row is parsed again from its bytes when the trainer asks for it.
 *
 * The rows and errors are those parseDataFile gives for the same file (tests/data/stream.test.ts);
 * only JSONL is read this way (a JSON array or CSV is parsed whole by parseDataFile).
 * The caller feeds bytes (push) and, at the end, says how to read bytes back (finish).
 */
import type { RowError, RowSource, TrainRow } from './rows';
import { jsonReason } from './parse';
import {
  detectShape,
  fileKindProblem,
  shapeMismatchReason,
  toTrainRow,
  unknownShapeReason,
  type RowShape,
} from './shapes';
import { compileChatTemplate, type ChatTemplate } from './template';
import { isObject, majorityOfCounts, RowProblem, type JsonObject } from './validate';
import type { ParseDataOptions, FileInfo } from './index';

/** A streamed data file: like parseDataFile's result, with the rows read on demand. */
export interface IndexedDataFile extends FileInfo {
  rows: RowSource;
  errors: RowError[];
  total: number;
}

const SHAPES: RowShape[] = ['sft', 'alpaca', 'chat', 'preference', 'clo-paired', 'clo'];

/** A growable typed array. */
class Column<A extends Float64Array | Uint32Array | Uint8Array> {
  length = 0;
  constructor(
    public data: A,
    private readonly make: (n: number) => A,
  ) {}
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = this.make(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}

export class JsonlIndexer {
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  private readonly template: ChatTemplate | null = null;
  private readonly templateError: string | null = null;
  private readonly offset = new Column(new Float64Array(1024), (n) => new Float64Array(n));
  private readonly length = new Column(new Uint32Array(1024), (n) => new Uint32Array(n));
  private readonly line = new Column(new Uint32Array(1024), (n) => new Uint32Array(n));
  /** 1 + index in SHAPES, 0 for no shape */
  private readonly shape = new Column(new Uint8Array(1024), (n) => new Uint8Array(n));
  /** 1 when the record normalised as its own shape */
  private readonly ok = new Column(new Uint8Array(1024), (n) => new Uint8Array(n));
  private readonly counts = new Map<RowShape, number>();
  private readonly jsonErrors: RowError[] = [];
  private readonly shapeErrors: RowError[] = [];
  /** normalisation problems, kept with the record's shape (an error only if that is the file's shape) */
  private readonly rowProblems: (RowError & { shape: RowShape })[] = [];
  private carry: Uint8Array = new Uint8Array(0);
  private carryStart = 0;
  private pos = 0;
  private lineNo = 0;

  constructor(
    readonly fileName: string,
    private readonly opts: ParseDataOptions = {},
  ) {
    try {
      this.template = compileChatTemplate(opts);
    } catch (err) {
      this.templateError = `chat template does not compile (${err instanceof Error ? err.message : String(err)})`;
    }
  }

  /** bytes read so far */
  get bytes(): number {
    return this.pos;
  }
  /** records (non-blank lines) seen so far */
  get records(): number {
    return this.offset.length + this.jsonErrors.length;
  }

  /** The next bytes of the file. */
  push(chunk: Uint8Array): void {
    let buf = chunk;
    let base = this.pos;
    if (this.pos === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) {
      buf = chunk.subarray(3);
      base = 3;
    }
    this.pos += chunk.length;
    if (this.carry.length > 0) {
      const joined = new Uint8Array(this.carry.length + buf.length);
      joined.set(this.carry);
      joined.set(buf, this.carry.length);
      buf = joined;
      base = this.carryStart;
    }
    let start = 0;
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      this.onLine(buf, start, nl, base);
      start = nl + 1;
    }
    // a copy (Node's Buffer.slice is a view, and the caller may reuse its buffer)
    this.carry = Uint8Array.from(buf.subarray(start));
    this.carryStart = base + start;
  }

  private onLine(buf: Uint8Array, start: number, end: number, base: number): void {
    this.lineNo++;
    if (end > start && buf[end - 1] === 0x0d) end--;
    const text = this.decoder.decode(buf.subarray(start, end));
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      this.jsonErrors.push({ line: this.lineNo, message: `invalid JSON (${jsonReason(err)})` });
      return;
    }
    const shape = this.templateError === null && isObject(value) ? detectShape(value) : null;
    this.offset.push(base + start);
    this.length.push(end - start);
    this.line.push(this.lineNo);
    this.shape.push(shape === null ? 0 : SHAPES.indexOf(shape) + 1);
    if (shape === null) {
      if (this.templateError === null) this.shapeErrors.push({ line: this.lineNo, message: unknownShapeReason(value) });
      this.ok.push(0);
      return;
    }
    this.counts.set(shape, (this.counts.get(shape) ?? 0) + 1);
    try {
      toTrainRow(value as JsonObject, shape, this.template);
      this.ok.push(1);
    } catch (err) {
      if (!(err instanceof RowProblem)) throw err;
      this.rowProblems.push({ line: this.lineNo, message: err.message, shape });
      this.ok.push(0);
    }
  }

  /** The file's rows and errors; `read(offset, length)` gives bytes of the file back (rows are read on demand). */
  finish(read: (offset: number, length: number) => Uint8Array): IndexedDataFile {
    if (this.carry.length > 0) {
      const last = this.carry;
      this.carry = new Uint8Array(0);
      this.onLine(last, 0, last.length, this.carryStart);
    }
    const info = { fileName: this.fileName, format: 'jsonl' as const, position: 'line' as const };
    const total = this.records;
    const none: RowSource = { length: 0, chars: 0, get: () => ({ kind: 'sft', prompt: '', response: '' }) };
    const fail = (message: string, errors: RowError[] = []) => ({
      ...info,
      shape: 'unknown' as const,
      rows: none,
      errors: [{ line: 0, message }, ...errors],
      total,
    });
    if (this.templateError) return fail(this.templateError);
    if (total === 0) return fail('file is empty (no rows)');
    const fileShape = majorityOfCounts(this.counts);
    const byLine = (a: RowError, b: RowError) => a.line - b.line;
    if (fileShape === null)
      return {
        ...info,
        shape: 'unknown',
        rows: none,
        errors: [...this.jsonErrors, ...this.shapeErrors].sort(byLine),
        total,
      };
    const problem = fileKindProblem(fileShape, this.opts.expect ?? 'any');
    if (problem) return { ...fail(problem, this.jsonErrors), shape: fileShape };

    const code = SHAPES.indexOf(fileShape) + 1;
    const errors = [...this.jsonErrors, ...this.shapeErrors];
    for (const p of this.rowProblems) if (p.shape === fileShape) errors.push({ line: p.line, message: p.message });
    const accepted = new Column(new Uint32Array(1024), (n) => new Uint32Array(n));
    let chars = 0;
    const { data: shapes } = this.shape;
    const { data: ok } = this.ok;
    for (let j = 0; j < this.offset.length; j++) {
      const s = shapes[j];
      if (s === code) {
        if (ok[j]) {
          accepted.push(j);
          chars += this.length.data[j];
        }
      } else if (s !== 0)
        errors.push({ line: this.line.data[j], message: shapeMismatchReason(SHAPES[s - 1], fileShape) });
    }
    const rows = accepted.data.subarray(0, accepted.length);
    const offsets = this.offset.data;
    const lengths = this.length.data;
    const lines = this.line.data;
    const decoder = this.decoder;
    const template = this.template;
    const fileName = this.fileName;
    const source: RowSource = {
      length: rows.length,
      chars,
      get(i: number): TrainRow {
        const j = rows[i];
        const text = decoder.decode(read(offsets[j], lengths[j]));
        try {
          return toTrainRow(JSON.parse(text) as JsonObject, fileShape, template);
        } catch (err) {
          throw new Error(
            `${fileName} line ${lines[j]} changed while it was in use (${err instanceof Error ? err.message : String(err)})`,
            { cause: err },
          );
        }
      },
    };
    return { ...info, shape: fileShape, rows: source, errors: errors.sort(byLine), total };
  }
}
