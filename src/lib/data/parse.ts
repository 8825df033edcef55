/**
 * File text → raw records with their positions (docs/cli.md "Data files").
 *
 * - JSONL: one JSON value per line; blank lines are skipped; `line` is the 1-based physical line.
 * - JSON array (first non-blank character is `[`): `line` is the item index + 1 (`position: 'item'`).
 * - CSV/TSV (file name ends in .csv/.tsv): parsed by papaparse; the header row names the fields;
 *   `line` is the physical line where the record starts (the header is line 1), so quoted
 *   newlines inside a field do not shift later line numbers. All values are strings; a `messages`
 *   cell holding a JSON array is decoded.
 * - Plain text (file name ends in .txt): each non-blank line is one {"text": line} record, for
 *   continued pretraining; `line` is the physical line.
 *
 * Nothing here knows about row shapes: that is shapes.ts.
 */
import Papa from 'papaparse';
import type { RowError } from './rows';

export type FileFormat = 'jsonl' | 'json' | 'csv' | 'text';

export interface RawRecord {
  line: number;
  value: unknown;
}

export interface RawParse {
  format: FileFormat;
  /** 'line' for JSONL/CSV, 'item' for JSON arrays (how `line` should be read). */
  position: 'line' | 'item';
  records: RawRecord[];
  /** records that could not be read at all (bad JSON, CSV field-count mismatch, ...) */
  errors: RowError[];
  /** a problem with the whole file (empty, not a JSON array, no CSV header); line 0 */
  fileError: string | null;
}

function extensionOf(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  const dot = base.lastIndexOf('.');
  return dot < 0 ? '' : base.slice(dot + 1).toLowerCase();
}

/** Picks the format from the file name, then from the content. */
export function detectFormat(text: string, fileName: string): FileFormat {
  const ext = extensionOf(fileName);
  if (ext === 'csv' || ext === 'tsv') return 'csv';
  if (ext === 'txt') return 'text';
  const first = text.match(/\S/);
  if (first && first[0] === '[') return 'json';
  return 'jsonl';
}

export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Shortens an engine error message to one line without the input echoed back at length. */
export function jsonReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const oneLine = msg.replace(/\s+/g, ' ').trim();
  return oneLine.length > 160 ? `${oneLine.slice(0, 157)}...` : oneLine;
}

function parseJsonl(text: string): RawParse {
  const out: RawParse = { format: 'jsonl', position: 'line', records: [], errors: [], fileError: null };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let s = lines[i];
    if (s.endsWith('\r')) s = s.slice(0, -1);
    if (s.trim() === '') continue;
    try {
      out.records.push({ line: i + 1, value: JSON.parse(s) });
    } catch (err) {
      out.errors.push({ line: i + 1, message: `invalid JSON (${jsonReason(err)})` });
    }
  }
  return out;
}

/** 1-based line of a character offset. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function parseJsonArray(text: string): RawParse {
  const out: RawParse = { format: 'json', position: 'item', records: [], errors: [], fileError: null };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const reason = jsonReason(err);
    const pos = /position (\d+)/.exec(reason);
    const where = pos && !/line \d+/.test(reason) ? ` at line ${lineAt(text, Number(pos[1]))}` : '';
    out.fileError = `invalid JSON${where} (${reason})`;
    return out;
  }
  if (!Array.isArray(value)) {
    out.fileError = 'expected a JSON array of row objects';
    return out;
  }
  for (let i = 0; i < value.length; i++) out.records.push({ line: i + 1, value: value[i] });
  return out;
}

/** Counts '\n' in text[from, to) — used to turn papaparse cursors into line numbers incrementally. */
function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function skipLineBreaks(text: string, pos: number): number {
  while (pos < text.length && (text[pos] === '\n' || text[pos] === '\r')) pos++;
  return pos;
}

/** A CSV `messages` cell holding a JSON array is decoded, so chat rows work in CSV too. */
function decodeCsvMessages(rec: Record<string, unknown>): Record<string, unknown> {
  const m = rec.messages;
  if (typeof m === 'string' && m.trimStart().startsWith('[')) {
    try {
      return { ...rec, messages: JSON.parse(m) as unknown };
    } catch {
      // left as a string: the shape check reports that "messages" is not an array
    }
  }
  return rec;
}

function parseCsv(text: string, fileName: string): RawParse {
  const out: RawParse = { format: 'csv', position: 'line', records: [], errors: [], fileError: null };
  const delimiter = extensionOf(fileName) === 'tsv' ? '\t' : undefined;
  // The header row alone, to know where the first record starts.
  const head = Papa.parse<string[]>(text, { preview: 1, delimiter });
  const fields = (head.data[0] ?? []).map((f) => f.trim());
  if (fields.length === 0 || fields.every((f) => f === '')) {
    out.fileError = 'CSV file has no header row naming the fields';
    return out;
  }
  let prevEnd = head.meta.cursor;
  let line = 1 + countNewlines(text, 0, prevEnd);
  let scanned = prevEnd;
  Papa.parse<Record<string, unknown>>(text, {
    header: true,
    delimiter,
    skipEmptyLines: true,
    transformHeader: (h) => h.trim(),
    step(result) {
      const start = skipLineBreaks(text, prevEnd);
      line += countNewlines(text, scanned, start);
      scanned = start;
      prevEnd = result.meta.cursor;
      if (result.errors.length > 0) {
        const e = result.errors[0];
        out.errors.push({ line, message: `CSV ${e.code}: ${e.message}` });
        return;
      }
      out.records.push({ line, value: decodeCsvMessages(result.data) });
    },
  });
  return out;
}

/** Splits file text into raw records. Never throws on bad content; problems come back as errors. */
function parseTextLines(text: string): RawParse {
  const records: RawRecord[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() !== '') records.push({ line: i + 1, value: { text: line } });
  });
  return { format: 'text', position: 'line', records, errors: [], fileError: null };
}

export function parseRecords(text: string, fileName: string): RawParse {
  const clean = stripBom(text);
  const format = detectFormat(clean, fileName);
  const empty: RawParse = {
    format,
    position: format === 'json' ? 'item' : 'line',
    records: [],
    errors: [],
    fileError: 'file is empty (no rows)',
  };
  if (clean.trim() === '') return empty;
  const out =
    format === 'csv'
      ? parseCsv(clean, fileName)
      : format === 'json'
        ? parseJsonArray(clean)
        : format === 'text'
          ? parseTextLines(clean)
          : parseJsonl(clean);
  if (!out.fileError && out.records.length === 0 && out.errors.length === 0) {
    out.fileError = format === 'json' ? 'JSON array is empty (no rows)' : 'file has no rows';
  }
  return out;
}
