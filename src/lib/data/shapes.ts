/**
 * Row shapes (docs/cli.md "Accepted row shapes"): recognise a raw record's shape from its field names,
 * then normalise it into a TrainRow. Normalisers throw RowProblem with a reason naming the field.
 *
 *   shape        fields                                                        → row kind
 *   sft          {prompt, response}                                            → sft (verbatim)
 *   alpaca       {instruction, input?, output} (or `response` for `output`)    → sft (templated)
 *   chat         {messages: [{role, content}, ...]}, last message = assistant  → sft (templated)
 *   preference   {prompt, chosen, rejected}                                    → preference (verbatim)
 *   clo-paired   {en_instruction, en_input?, en_output, L_instruction, L_input?, L_output}
 *                for any language code L other than "en"                       → clo (templated)
 *   clo          {x_en, y_en, x_tgt, y_tgt, lang}                              → clo (verbatim)
 *   text         {text}: raw text for continued pretraining                     → sft (prompt '', response = text)
 */
import type { CloRow, RowKind, SftRow, TrainRow } from './rows';
import { chatPrompt, instructionPrompt, type ChatMessage, type ChatTemplate, type InstructionParts } from './template';
import {
  describeType,
  firstPresent,
  isObject,
  optionalString,
  requiredString,
  RowProblem,
  type JsonObject,
} from './validate';

export type RowShape = 'sft' | 'alpaca' | 'chat' | 'preference' | 'clo-paired' | 'clo' | 'text';

export const SHAPE_KIND: Record<RowShape, RowKind> = {
  sft: 'sft',
  alpaca: 'sft',
  chat: 'sft',
  preference: 'preference',
  'clo-paired': 'clo',
  clo: 'clo',
  text: 'sft',
};

export const SHAPE_FIELDS: Record<RowShape, string> = {
  sft: '{prompt, response}',
  alpaca: '{instruction, input?, output}',
  chat: '{messages: [{role, content}]}',
  preference: '{prompt, chosen, rejected}',
  'clo-paired': '{en_instruction, en_input?, en_output, <lang>_instruction, <lang>_input?, <lang>_output}',
  clo: '{x_en, y_en, x_tgt, y_tgt, lang}',
  text: '{text}',
};

/** A shape with its fields, for messages: `sft {prompt, response}`. */
export function shapeLabel(shape: RowShape): string {
  return `${shape} ${SHAPE_FIELDS[shape]}`;
}

/** Why a record of `shape` is rejected in a file whose rows are `fileShape`. */
export function shapeMismatchReason(shape: RowShape, fileShape: RowShape): string {
  return `row has shape ${shapeLabel(shape)} but this file's rows are ${shapeLabel(fileShape)}`;
}

/** Why a whole file of `shape` rows is refused when `expect` rows are needed, or null when it fits. */
export function fileKindProblem(shape: RowShape, expect: RowKind | 'any'): string | null {
  return expect === 'any' || SHAPE_KIND[shape] === expect
    ? null
    : `rows are ${SHAPE_KIND[shape]} rows (${shapeLabel(shape)}) but ${expect} rows are needed`;
}

/** `<lang>_instruction|input|output` where <lang> looks like a language code: ko, en, yue, zh_Hans, pt-BR. */
const PAIRED_KEY = /^([a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?)_(instruction|input|output)$/;
const CLO_KEYS = ['x_en', 'y_en', 'x_tgt', 'y_tgt'];

/** The shape a record's field names point to, or null when they fit none. */
export function detectShape(rec: JsonObject): RowShape | null {
  if ('messages' in rec) return 'chat';
  if ('chosen' in rec || 'rejected' in rec) return 'preference';
  for (const k of CLO_KEYS) if (k in rec) return 'clo';
  if ('en_instruction' in rec || 'en_output' in rec) return 'clo-paired';
  for (const k in rec) {
    const m = PAIRED_KEY.exec(k);
    if (m && m[2] === 'instruction') return 'clo-paired';
  }
  if ('instruction' in rec) return 'alpaca';
  if ('prompt' in rec || 'response' in rec) return 'sft';
  if ('text' in rec) return 'text';
  return null;
}

/** Reason given for a record whose fields fit no shape. */
export function unknownShapeReason(value: unknown): string {
  if (!isObject(value)) return `expected a JSON object with row fields, got ${describeType(value)}`;
  const keys = Object.keys(value);
  const shown =
    keys.length === 0 ? 'no fields' : `fields: ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', ...' : ''}`;
  return `unrecognised row shape (${shown}); expected SFT {prompt, response}, Alpaca {instruction, input?, output}, chat {messages}, preference {prompt, chosen, rejected} CLO {en_instruction, en_output, <lang>_instruction, <lang>_output} / {x_en, y_en, x_tgt, y_tgt, lang}, or raw text {text}`;
}

/** The target-language code of a clo-paired record (the one prefix other than "en"). */
export function pairedLanguage(rec: JsonObject): string {
  const langs = new Set<string>();
  for (const k in rec) {
    const m = PAIRED_KEY.exec(k);
    if (m && m[1] !== 'en') langs.add(m[1]);
  }
  if (langs.size === 0)
    throw new RowProblem('no target-language fields (expected e.g. "ko_instruction" and "ko_output")');
  if (langs.size > 1)
    throw new RowProblem(`several target languages (${[...langs].sort().join(', ')}); use one per row`);
  return [...langs][0];
}

/** Instruction/input/output read from `<prefix>instruction`, `<prefix>input`, `<prefix>output` (output alias: response). */
export function instructionParts(rec: JsonObject, prefix = ''): InstructionParts {
  const instruction = requiredString(rec, `${prefix}instruction`);
  const input = optionalString(rec, `${prefix}input`);
  const outKey = prefix === '' ? firstPresent(rec, ['output', 'response']) : `${prefix}output`;
  const output = requiredString(rec, outKey);
  return { instruction, input, output };
}

/** Validated chat messages; the last one must be the assistant's answer. */
export function chatMessages(rec: JsonObject): ChatMessage[] {
  const raw = rec.messages;
  if (!Array.isArray(raw)) throw new RowProblem(`field "messages" must be an array, got ${describeType(raw)}`);
  if (raw.length < 2) throw new RowProblem('field "messages" needs at least one message before the assistant reply');
  const out: ChatMessage[] = [];
  raw.forEach((m, i) => {
    if (!isObject(m)) throw new RowProblem(`messages[${i}] must be an object, got ${describeType(m)}`);
    const role = m.role;
    if (typeof role !== 'string' || role.trim() === '')
      throw new RowProblem(`messages[${i}].role must be a non-empty string, got ${describeType(role)}`);
    const content = m.content;
    if (typeof content !== 'string')
      throw new RowProblem(`messages[${i}].content must be a string, got ${describeType(content)}`);
    out.push({ role, content });
  });
  const last = out[out.length - 1];
  if (last.role !== 'assistant')
    throw new RowProblem(`the last message must have role "assistant" (got "${last.role}")`);
  if (last.content.trim() === '')
    throw new RowProblem(`messages[${out.length - 1}].content (the assistant reply) is empty`);
  return out;
}

/** A CLO row from English and target-language parts: x = prompt of the parts, y = output. */
export function cloRowFromParts(
  en: InstructionParts,
  tgt: InstructionParts,
  lang: string,
  template: ChatTemplate | null = null,
): CloRow {
  return {
    kind: 'clo',
    xEn: instructionPrompt(en.instruction, en.input, template),
    yEn: en.output,
    xTgt: instructionPrompt(tgt.instruction, tgt.input, template),
    yTgt: tgt.output,
    lang,
  };
}

function renderOrFail<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof RowProblem) throw err;
    throw new RowProblem(`chat template failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Normalises a record already known to have `shape` into a TrainRow; throws RowProblem on bad fields. */
export function toTrainRow(rec: JsonObject, shape: RowShape, template: ChatTemplate | null): TrainRow {
  switch (shape) {
    case 'sft':
      return { kind: 'sft', prompt: requiredString(rec, 'prompt'), response: requiredString(rec, 'response') };
    case 'alpaca': {
      const p = instructionParts(rec);
      return {
        kind: 'sft',
        prompt: renderOrFail(() => instructionPrompt(p.instruction, p.input, template)),
        response: p.output,
      };
    }
    case 'chat': {
      const msgs = chatMessages(rec);
      const row: SftRow = {
        kind: 'sft',
        prompt: renderOrFail(() => chatPrompt(msgs.slice(0, -1), template)),
        response: msgs[msgs.length - 1].content,
      };
      return row;
    }
    case 'preference':
      return {
        kind: 'preference',
        prompt: requiredString(rec, 'prompt'),
        chosen: requiredString(rec, 'chosen'),
        rejected: requiredString(rec, 'rejected'),
      };
    case 'clo-paired': {
      const lang = pairedLanguage(rec);
      const en = instructionParts(rec, 'en_');
      const tgt = instructionParts(rec, `${lang}_`);
      return renderOrFail(() => cloRowFromParts(en, tgt, lang, template));
    }
    case 'clo':
      return {
        kind: 'clo',
        xEn: requiredString(rec, 'x_en'),
        yEn: requiredString(rec, 'y_en'),
        xTgt: requiredString(rec, 'x_tgt'),
        yTgt: requiredString(rec, 'y_tgt'),
        lang: requiredString(rec, 'lang'),
      };
    case 'text':
      return { kind: 'sft', prompt: '', response: requiredString(rec, 'text') };
  }
}

/** English instruction/input/output parts of a record (for the translation pair builder). */
export function englishPartsOf(rec: JsonObject, shape: RowShape): InstructionParts {
  switch (shape) {
    case 'alpaca':
      return instructionParts(rec);
    case 'clo-paired':
      return instructionParts(rec, 'en_');
    case 'sft':
      return { instruction: requiredString(rec, 'prompt'), input: '', output: requiredString(rec, 'response') };
    case 'chat': {
      const msgs = chatMessages(rec).filter((m) => m.role !== 'system');
      if (msgs.length !== 2 || msgs[0].role !== 'user')
        throw new RowProblem(
          'only single-turn chats (one user message, one assistant reply) split into instruction/output',
        );
      return { instruction: msgs[0].content, input: '', output: msgs[1].content };
    }
    case 'preference':
    case 'clo':
    case 'text':
      throw new RowProblem(`${shape} rows ${SHAPE_FIELDS[shape]} have no English instruction/output to translate`);
  }
}
