/**
 * Data layer entry points: file text → training rows, with every rejected row reported by line.
 *
 * Errors with `line: 0` concern the whole file (empty file, bad JSON array, chat template that
 * does not compile, rows of the wrong kind for the objective); formatErrors prints them without a line.
 */
import type { ParseResult, RowError, RowKind, TrainRow } from './rows';
import { parseRecords, type FileFormat, type RawParse } from './parse';
import {
  detectShape,
  englishPartsOf,
  fileKindProblem,
  shapeMismatchReason,
  toTrainRow,
  unknownShapeReason,
  type RowShape,
} from './shapes';
import { compileChatTemplate, type ChatTemplate, type InstructionParts, type PromptOptions } from './template';
import { isObject, majorityShape, RowProblem, type JsonObject } from './validate';

export type { RowShape } from './shapes';
export { cloRowFromParts, SHAPE_FIELDS, SHAPE_KIND } from './shapes';
export {
  alpacaPrompt,
  plainChatPrompt,
  instructionAsUserMessage,
  compileChatTemplate,
  type InstructionParts,
  type ChatMessage,
  type PromptOptions,
} from './template';
export { parseRecords, detectFormat, type FileFormat } from './parse';

export interface ParseDataOptions extends PromptOptions {
  /** the row kind the caller needs (e.g. the objective's); a file of another kind is rejected as a whole */
  expect?: RowKind | 'any';
}

export interface FileInfo {
  /** the file's row shape, or 'unknown' when no record fits a shape */
  shape: RowShape | 'unknown';
  fileName: string;
  format: FileFormat;
  /** how `line` reads: a physical line (JSONL, CSV) or a JSON array item (index + 1) */
  position: 'line' | 'item';
}

export type DataFileResult = ParseResult<TrainRow> & FileInfo;
export type EnglishRecordsResult = ParseResult<InstructionParts> & FileInfo;

function byLine(a: RowError, b: RowError): number {
  return a.line - b.line;
}

/**
 * Shared walk over the records: picks the file's shape (majority, ties to the first seen),
 * reports records of other shapes, and normalises the rest with `normalise`.
 */
function walk<R>(
  raw: RawParse,
  fileName: string,
  normalise: (rec: JsonObject, shape: RowShape) => R,
  fileCheck?: (shape: RowShape) => string | null,
): ParseResult<R> & FileInfo {
  const base = { fileName, format: raw.format, position: raw.position };
  const total = raw.records.length + raw.errors.length;
  if (raw.fileError)
    return { ...base, shape: 'unknown', rows: [], errors: [{ line: 0, message: raw.fileError }], total };

  const shapes = raw.records.map((r) => (isObject(r.value) ? detectShape(r.value) : null));
  const fileShape = majorityShape(shapes);
  const errors: RowError[] = [...raw.errors];
  const rows: R[] = [];

  if (fileShape === null) {
    raw.records.forEach((r) => errors.push({ line: r.line, message: unknownShapeReason(r.value) }));
    return { ...base, shape: 'unknown', rows, errors: errors.sort(byLine), total };
  }
  const fileProblem = fileCheck?.(fileShape) ?? null;
  if (fileProblem)
    return { ...base, shape: fileShape, rows, errors: [{ line: 0, message: fileProblem }, ...errors], total };

  raw.records.forEach((r, i) => {
    const shape = shapes[i];
    if (shape === null) {
      errors.push({ line: r.line, message: unknownShapeReason(r.value) });
    } else if (shape !== fileShape) {
      errors.push({ line: r.line, message: shapeMismatchReason(shape, fileShape) });
    } else {
      try {
        rows.push(normalise(r.value as JsonObject, shape));
      } catch (err) {
        if (!(err instanceof RowProblem)) throw err;
        errors.push({ line: r.line, message: err.message });
      }
    }
  });
  return { ...base, shape: fileShape, rows, errors: errors.sort(byLine), total };
}

/**
 * Parses a data file (JSONL, JSON array, or CSV/TSV by extension) into training rows.
 * Instruction-shaped rows (Alpaca, en_/<lang>_ CLO pairs) and chat rows are formatted here: with
 * `chatTemplate` when given, else the Alpaca prompt / plain chat fallback (template.ts).
 * {prompt, response}, {prompt, chosen, rejected} and {x_en, ...} rows are used verbatim.
 */
export function parseDataFile(text: string, fileName: string, opts: ParseDataOptions = {}): DataFileResult {
  const raw = parseRecords(text, fileName);
  let template: ChatTemplate | null = null;
  try {
    template = compileChatTemplate(opts);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const total = raw.records.length + raw.errors.length;
    return {
      shape: 'unknown',
      fileName,
      format: raw.format,
      position: raw.position,
      rows: [],
      errors: [{ line: 0, message: `chat template does not compile (${reason})` }],
      total,
    };
  }
  const expect = opts.expect ?? 'any';
  return walk(
    raw,
    fileName,
    (rec, shape) => toTrainRow(rec, shape, template),
    (shape) => fileKindProblem(shape, expect),
  );
}

/**
 * English SFT records as separate parts {instruction, input, output}, for the translation pair
 * builder. Accepts Alpaca rows, {prompt, response} (prompt → instruction), single-turn chats and
 * en_/<lang>_ pairs (their English side; the target side may be missing or null).
 */
export function englishSftRecords(text: string, fileName: string): EnglishRecordsResult {
  return walk(parseRecords(text, fileName), fileName, englishPartsOf);
}

/** Human-readable error lines, `FILE line N: reason`, at most `max` of them plus a "... more" line. */
export function formatErrors(
  result: { errors: RowError[]; fileName: string; position?: 'line' | 'item' },
  max = 20,
): string[] {
  const unit = result.position ?? 'line';
  const lines = result.errors
    .slice(0, Math.max(0, max))
    .map((e) =>
      e.line > 0 ? `${result.fileName} ${unit} ${e.line}: ${e.message}` : `${result.fileName}: ${e.message}`,
    );
  const rest = result.errors.length - lines.length;
  if (rest > 0) lines.push(`${result.fileName}: ... and ${rest} more error${rest === 1 ? '' : 's'}`);
  return lines;
}

/** One line saying what was imported and what was skipped, e.g. `data.jsonl: 333 of 335 rows accepted (alpaca), 2 skipped`. */
export function importSummary(result: ParseResult<unknown> & FileInfo): string {
  const skipped = result.total - result.rows.length;
  return `${result.fileName}: ${result.rows.length} of ${result.total} rows accepted (${result.shape})${skipped > 0 ? `, ${skipped} skipped` : ''}`;
}
