/**
 * The vocabulary worker's jobs (workers/vocab/vocab.worker.ts, served by the job runtime
 * workers/host/jobs.ts; the page calls them through workers/host/registry.ts `vocabJobs`). Plain data
 * only: tensors never cross; picked files travel as Blobs (structured clone, no copy).
 * Jobs: extend (learn N tokens, grow and initialise the model, measure, store it in IndexedDB) and
 * compare (short continued pretraining of the salt, mean and random inits from one seed, streaming
 * the losses as progress). One job at a time; cancel = the call's signal.
 */
import type { ModelSpec } from '../../src/lib/formats/model-spec';
import type { InitMethod } from '../../src/lib/vocab/init';
import type { HostReady } from '../host/boot';
import type { JobSpec } from '../host/jobs';

/** Where the text to learn tokens from comes from. */
export type VocabCorpus =
  /** the bundled Korean instruction and parallel data (src/lib/vocab/corpus.ts DEFAULT_CORPUS_FILES) */
  | { kind: 'bundled' }
  /** texts the page already has (a stored dataset's column) */
  | { kind: 'texts'; name: string; texts: string[] }
  /** an uploaded file: plain text (one text per line) or JSONL/JSON rows */
  | { kind: 'file'; name: string; file: Blob; column?: string };

export interface DonorFiles {
  matrix: Blob;
  matrixName: string;
  vocab: Blob;
  vocabName: string;
}

export interface ExtendSettings {
  corpus: VocabCorpus;
  add: number;
  init: InitMethod;
  seed: number;
  donor?: DonorFiles | null;
}

export interface ExtendArgs {
  /** the base model to extend (the page's model); absent = the embedded stories260K */
  model?: ModelSpec;
  settings: ExtendSettings;
  /** a sentence shown tokenized before and after */
  sample: string;
  /** held-out texts for bits/char (first n of the bundled KULLM prompts) */
  heldout: number;
}
export interface CompareArgs {
  model?: ModelSpec;
  /** init is ignored: every method runs, in INIT_METHODS order */
  settings: ExtendSettings;
  steps: number;
  heldout: number;
  /** store each init's trained model (new rows trained) in the browser, like an extended model */
  keep?: boolean;
}

// ---- events (worker → page) ----
export type VocabReady = HostReady;
export interface VocabProgressEvent {
  type: 'progress';
  /** e.g. 'corpus', 'learn', 'aux', 'init', 'measure', 'store', 'train salt' */
  stage: string;
  done: number;
  total: number;
}
/** One token of a tokenized sample: its text and whether it is one of the added tokens. */
export interface SampleToken {
  text: string;
  added: boolean;
}
export interface ExtendSummary {
  /** the stored model (ModelStore id) and its name */
  modelId: string;
  name: string;
  base: string;
  added: number;
  syllables: number;
  merges: number;
  oldVocab: number;
  vocabSize: number;
  init: InitMethod;
  auxSource: string | null;
  corpus: string;
  corpusTexts: number;
  heldoutTexts: number;
  tokensPerCharBefore: number;
  tokensPerCharAfter: number;
  bitsPerCharBefore: number;
  bitsPerCharAfter: number;
  sample: { text: string; before: SampleToken[]; after: SampleToken[] };
  timings: { learnMs: number; auxMs: number; initMs: number };
  backend: string;
  seconds: number;
}
export interface VocabCurveEvent {
  type: 'curve';
  init: InitMethod;
  step: number;
  loss: number;
}
export interface CompareRow {
  init: InitMethod;
  losses: number[];
  /** held-out bits/char before and after the steps */
  bitsPerCharStart: number;
  bitsPerCharEnd: number;
  /** the stored trained model, when the command asked to keep them */
  kept?: { modelId: string; name: string };
}
export interface VocabComparedEvent {
  rows: CompareRow[];
  steps: number;
  backend: string;
  seconds: number;
}
export type VocabJobs = {
  extend: JobSpec<ExtendArgs, VocabProgressEvent, ExtendSummary>;
  /** progress: stages, and one `curve` event per training step */
  compare: JobSpec<CompareArgs, VocabProgressEvent | VocabCurveEvent, VocabComparedEvent>;
};
