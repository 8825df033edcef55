/**
 * Pairs view state (runes): the English data, the translator settings, the live translation job
 * and its results. Kept out of the component so a job keeps running (and its progress stays) when
 * the person switches views; built pairs are saved in IndexedDB (PairSetStore) after every run and
 * the newest set is shown again after a reload.
 *
 * The view passes manifest entries in (chooseEnglish, chooseParallel, updateCoverage): this module
 * does not read other stores, so it stays independent of how they are written.
 */
import { finishJob, startJob } from './jobs.svelte';
import { englishSftRecords, formatErrors, importSummary, type InstructionParts } from '../../lib/data/index';
import type { DatasetEntry } from '../../lib/data/manifest';
import { idbStore } from '../../lib/store/idb';
import { newPairSetId, PairSetStore, type PairSetMeta } from '../../lib/store/pairs';
import {
  BROWSER_TIMEOUT_MS,
  BrowserTranslator,
  browserTranslatorAvailability,
  browserTranslatorSupported,
} from '../../lib/translate/browser-api';
import { whatNext, type TranslatorKind } from '../../lib/translate/hints';
import { PairJob, type JobCounts, type RecordFailure } from '../../lib/translate/job';
import { LibreTranslateTranslator } from '../../lib/translate/libretranslate';
import { lookupCoverage, type LookupCoverage, type LookupTranslator } from '../../lib/translate/lookup';
import { manualExportItems, manualExportJsonl, manualImport } from '../../lib/translate/manual';
import {
  DEFAULT_CATALYST,
  DEFAULT_INDICATORS,
  serializeParts,
  textsForRecord,
} from '../../lib/translate/multicomponent';
import { cloPairs, jobRecordOf, type CloPair } from '../../lib/translate/pairs';
import { parallelTranslatorFromText } from '../../lib/translate/parallel';
import { TranslateError, type Translator } from '../../lib/translate/types';

export type Kind = TranslatorKind;
export const SOURCE = 'en';
export const PART_NAMES = ['instruction', 'input', 'answer'] as const;

export const KIND_LABELS: Record<Kind, string> = {
  browser: 'Built-in browser translator',
  libretranslate: 'LibreTranslate server',
  parallel: 'Parallel corpus lookup',
  manual: 'Manual (export, translate elsewhere, import)',
};

/** "Korean" for "ko"; the code itself when the browser cannot name it. */
export function languageName(code: string): string {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(code) ?? code;
  } catch {
    return code;
  }
}

export interface EnglishData {
  name: string;
  rows: InstructionParts[];
  summary: string;
  errors: string[];
  entry?: DatasetEntry;
}

export interface CorpusCheck {
  coverage: LookupCoverage;
  /** the corpus is the English data's own file: a lookup copies its target side, no translation */
  sameFile: boolean;
}

export const pairSetStore = new PairSetStore(idbStore());

async function fetchText(entry: DatasetEntry): Promise<string> {
  const res = await fetch(`${import.meta.env.BASE_URL}${entry.file}`);
  if (!res.ok) throw new Error(`${entry.file}: HTTP ${res.status}`);
  return res.text();
}

const fileName = (entry: DatasetEntry) => entry.file.split('/').pop() ?? entry.file;

class PairsState {
  // English data
  englishId = $state('');
  english = $state.raw<EnglishData | null>(null);
  limit = $state(50);
  lang = $state('ko');
  records = $derived(this.english ? this.english.rows.slice(0, Math.max(1, Math.floor(this.limit) || 1)) : []);

  // translator
  readonly browserSupported = browserTranslatorSupported();
  kind = $state<Kind>(browserTranslatorSupported() ? 'browser' : 'parallel');
  browserStatus = $state('');
  /** built-in translator: seconds to wait for it to get ready, and for each record */
  browserTimeoutS = $state(BROWSER_TIMEOUT_MS / 1000);
  download = $state<number | null>(null);
  ltUrl = $state('http://localhost:5000');
  ltKey = $state('');
  ltConcurrency = $state(4);
  ltTimeout = $state(30000);
  parallelId = $state('');
  parallel = $state.raw<{ name: string; translator: LookupTranslator; pairs: number; entryId?: string } | null>(null);
  manual = $state.raw<{ translator: LookupTranslator; info: string } | null>(null);
  /** coverage of the chosen records by each bundled corpus (by manifest id), and by the loaded one */
  corpusChecks = $state.raw<Record<string, CorpusCheck>>({});
  parallelCheck = $state.raw<CorpusCheck | null>(null);

  // multi-component settings
  catalyst = $state(DEFAULT_CATALYST);
  indicators = $state<string[]>([...DEFAULT_INDICATORS]);

  // the job
  job = $state.raw<PairJob | null>(null);
  counts = $state<JobCounts | null>(null);
  running = $state(false);
  /** 'preparing': waiting for the built-in translator to get ready */
  phase = $state<'idle' | 'preparing' | 'translating'>('idle');
  prepStartedAt = $state(0);
  now = $state(0);
  message = $state<string | null>(null);
  problem = $state<string | null>(null);
  /** what to do next after a failure */
  hint = $state<string | null>(null);
  failures = $state.raw<RecordFailure[]>([]);
  pairs = $state.raw<CloPair[]>([]);
  busy = $state<string | null>(null);
  /** the job holding the app's job slot (see claimJobSlot) */
  activeJob = $state<string | null>(null);

  // saved pair sets (IndexedDB)
  saved = $state.raw<PairSetMeta[]>([]);
  /** the saved set shown (and written by the current job) */
  shown = $state.raw<PairSetMeta | null>(null);
}

export const pairs = new PairsState();

let jobKey = '';
let jobEnglish: InstructionParts[] = [];
let jobSetId = '';
let jobCreatedAt = 0;
let preparing: AbortController | null = null;
let ticker: ReturnType<typeof setInterval> | null = null;
const browser = new BrowserTranslator({ onDownloadProgress: (f) => (pairs.download = f) });
/** parsed bundled corpora, by `${id}>${lang}` */
const corpusCache: Record<string, Promise<LookupTranslator> | undefined> = {};

/**
 * The one place this module takes and gives back the app's job slot: a single long job at a time.
 * Returns the release function; the slot is the page's one job slot (stores/jobs.svelte.ts).
 */
function claimJobSlot(label: string, _stop: () => void): () => void {
  const ticket = startJob('pairs', label); // throws JobBusyError naming the running job
  pairs.activeJob = label;
  return () => {
    pairs.activeJob = null;
    finishJob(ticket);
  };
}

async function guarded(what: string, fn: () => Promise<void>): Promise<void> {
  pairs.busy = what;
  pairs.problem = null;
  pairs.hint = null;
  try {
    await fn();
  } catch (err) {
    pairs.problem = err instanceof Error ? err.message : String(err);
  } finally {
    pairs.busy = null;
  }
}

function setEnglish(text: string, name: string, entry?: DatasetEntry): void {
  const r = englishSftRecords(text, name);
  pairs.english = { name, rows: r.rows, summary: importSummary(r), errors: formatErrors(r, 5), entry };
  pairs.pairs = [];
  pairs.failures = [];
  pairs.counts = null;
  pairs.message = null;
  pairs.shown = null;
}

export const chooseEnglish = (entry: DatasetEntry | undefined) =>
  guarded('Loading English data…', async () => {
    if (entry) setEnglish(await fetchText(entry), fileName(entry), entry);
  });

export const uploadEnglish = (file: File) =>
  guarded('Reading English data…', async () => {
    pairs.englishId = '';
    setEnglish(await file.text(), file.name);
  });

function bundledCorpus(entry: DatasetEntry, lang: string): Promise<LookupTranslator> {
  const key = `${entry.id}>${lang}`;
  let t = corpusCache[key];
  if (!t) {
    t = fetchText(entry).then((text) => parallelTranslatorFromText(text, fileName(entry), SOURCE, lang).translator);
    t.catch(() => delete corpusCache[key]);
    corpusCache[key] = t;
  }
  return t;
}

function checkCorpus(translator: LookupTranslator, entryId?: string): CorpusCheck {
  const multi = { catalyst: pairs.catalyst, indicators: pairs.indicators };
  const coverage = lookupCoverage(
    pairs.records.map((r) => jobRecordOf(r).parts),
    translator.table,
    (parts) => serializeParts(parts, multi),
  );
  return { coverage, sameFile: entryId !== undefined && entryId === pairs.english?.entry?.id };
}

/** Measures, for each candidate corpus, how many of the chosen records it can translate. */
export async function updateCoverage(candidates: DatasetEntry[]): Promise<void> {
  if (!pairs.english) {
    pairs.corpusChecks = {};
    return;
  }
  const lang = pairs.lang;
  const out: Record<string, CorpusCheck> = {};
  await Promise.all(
    candidates.map(async (entry) => {
      try {
        out[entry.id] = checkCorpus(await bundledCorpus(entry, lang), entry.id);
      } catch {
        // a corpus without this language pair: left out
      }
    }),
  );
  pairs.corpusChecks = out;
  if (pairs.parallel) pairs.parallelCheck = checkCorpus(pairs.parallel.translator, pairs.parallel.entryId);
}

export const chooseParallel = (entry: DatasetEntry | undefined) =>
  guarded('Loading the parallel corpus…', async () => {
    if (!entry) {
      pairs.parallel = null;
      pairs.parallelCheck = null;
      return;
    }
    const translator = await bundledCorpus(entry, pairs.lang);
    pairs.parallel = { name: fileName(entry), translator, pairs: translator.table.size, entryId: entry.id };
    pairs.parallelCheck = checkCorpus(translator, entry.id);
  });

export const uploadParallel = (file: File) =>
  guarded('Reading the parallel corpus…', async () => {
    const load = parallelTranslatorFromText(await file.text(), file.name, SOURCE, pairs.lang);
    pairs.parallelId = '';
    pairs.parallel = { name: file.name, translator: load.translator, pairs: load.pairs };
    pairs.parallelCheck = checkCorpus(load.translator);
  });

/** Texts of the records not yet translated; each record's joint text (keep the [n] markers). */
function manualTexts(onlyPending: boolean): string[] {
  const pending = onlyPending && pairs.job ? new Set(pairs.job.pendingIndices()) : null;
  const multi = { catalyst: pairs.catalyst, indicators: pairs.indicators };
  return pairs.records.flatMap((r, i) =>
    pending && !pending.has(i) ? [] : textsForRecord(jobRecordOf(r).parts, multi),
  );
}

export async function manualExportText(): Promise<string> {
  return manualExportJsonl(await manualExportItems(manualTexts(true)));
}

export const importManual = (file: File) =>
  guarded('Reading the translations…', async () => {
    const items = await manualExportItems(manualTexts(false));
    const imp = manualImport(items, await file.text(), file.name, SOURCE, pairs.lang);
    pairs.manual = {
      translator: imp.translator,
      info: `${imp.matched} translations from ${file.name}${imp.problems.length ? `; ${imp.problems.length} problems: ${imp.problems.slice(0, 3).join('; ')}` : ''}`,
    };
  });

export function refreshBrowserStatus(): void {
  if (pairs.kind !== 'browser' || !pairs.browserSupported) return;
  pairs.browserStatus = 'checking…';
  const lang = pairs.lang;
  void browserTranslatorAvailability(SOURCE, lang).then((a) => {
    if (pairs.lang === lang) pairs.browserStatus = a;
  });
}

function currentTranslator(): Translator {
  switch (pairs.kind) {
    case 'browser':
      return browser;
    case 'libretranslate':
      return new LibreTranslateTranslator({
        url: pairs.ltUrl,
        apiKey: pairs.ltKey || undefined,
        concurrency: pairs.ltConcurrency,
        timeoutMs: pairs.ltTimeout,
      });
    case 'parallel':
      if (!pairs.parallel) throw new Error('Choose a parallel corpus first.');
      return pairs.parallel.translator;
    case 'manual':
      if (!pairs.manual)
        throw new Error('Import a translated file first (export the texts, translate them, import the result).');
      return pairs.manual.translator;
  }
}

function translatorLabel(): string {
  if (pairs.kind === 'parallel' && pairs.parallel) {
    const same = pairs.parallelCheck?.sameFile ? ' (same file: its own target side, not translation)' : '';
    return `${KIND_LABELS.parallel}: ${pairs.parallel.name}${same}`;
  }
  if (pairs.kind === 'libretranslate') return `${KIND_LABELS.libretranslate} at ${pairs.ltUrl}`;
  return KIND_LABELS[pairs.kind];
}

export function pause(): void {
  preparing?.abort();
  pairs.job?.pause();
}

function stopTicker(): void {
  if (ticker) clearInterval(ticker);
  ticker = null;
}

/** Builds (or resumes) pairs for the chosen records with the chosen translator. */
export async function run(): Promise<void> {
  const english = pairs.english;
  if (!english || pairs.running) return;
  const kind = pairs.kind;
  const lang = pairs.lang;
  const target = languageName(lang);
  pairs.problem = null;
  pairs.message = null;
  pairs.hint = null;
  let release: () => void;
  try {
    release = claimJobSlot('Building pairs', pause);
  } catch (err) {
    pairs.problem = err instanceof Error ? err.message : String(err);
    return;
  }
  pairs.running = true;
  const recs = pairs.records;
  if (!pairs.counts || pairs.counts.total !== recs.length)
    pairs.counts = { done: 0, total: recs.length, joint: 0, fallback: 0, failed: 0 };
  try {
    const translator = currentTranslator();
    if (kind === 'browser') {
      pairs.download = null;
      browser.timeoutMs = Math.max(0, pairs.browserTimeoutS) * 1000;
      preparing = new AbortController();
      pairs.phase = 'preparing';
      pairs.prepStartedAt = pairs.now = Date.now();
      ticker = setInterval(() => (pairs.now = Date.now()), 250);
      // started inside the click: a model download needs the user gesture; Pause cancels it
      await browser.prepare(SOURCE, lang, preparing.signal);
      stopTicker();
      preparing = null;
    }
    pairs.phase = 'translating';
    const settings =
      kind === 'libretranslate'
        ? [pairs.ltKey, pairs.ltConcurrency, pairs.ltTimeout]
        : kind === 'manual'
          ? [pairs.manual?.info]
          : kind === 'browser'
            ? [pairs.browserTimeoutS]
            : [];
    const key = JSON.stringify([
      english.name,
      recs.length,
      translator.id,
      lang,
      pairs.catalyst,
      pairs.indicators,
      settings,
    ]);
    if (!pairs.job || key !== jobKey) {
      const remote = kind === 'browser' || kind === 'libretranslate';
      const built: PairJob = new PairJob(recs.map(jobRecordOf), {
        translator,
        source: SOURCE,
        target: lang,
        multi: { catalyst: pairs.catalyst, indicators: [...pairs.indicators] },
        cache: remote ? idbStore() : undefined, // translations kept in IndexedDB: a re-run sends only what is missing
        concurrency: kind === 'libretranslate' ? pairs.ltConcurrency : 2,
        onProgress: (c) => {
          pairs.counts = c;
          if (c.done % 10 === 0 || c.done === c.total) {
            pairs.pairs = cloPairs(recs, built.results, lang);
            pairs.failures = built.failures();
          }
        },
      });
      pairs.job = built;
      jobKey = key;
      jobEnglish = recs;
      jobSetId = newPairSetId();
      jobCreatedAt = Date.now();
    }
    const job = pairs.job;
    const out = await job.run();
    pairs.counts = job.counts();
    pairs.pairs = cloPairs(jobEnglish, job.results, lang);
    pairs.failures = job.failures();
    if (out.status === 'done') {
      const failed = pairs.failures.length;
      pairs.message = failed
        ? `Done: ${pairs.pairs.length} pairs; ${failed} of ${out.total} records failed (reasons below).`
        : `Done: ${pairs.pairs.length} pairs.`;
      if (failed)
        pairs.hint = whatNext(kind, pairs.failures[0].kind === 'unknown' ? 'missing' : pairs.failures[0].kind, target);
    } else {
      pairs.message = out.message ?? 'Paused.';
      if (out.error) pairs.hint = whatNext(kind, out.error.kind, target);
    }
    await persist(english, lang, translator.id, out.status === 'done');
  } catch (err) {
    if (preparing?.signal.aborted) pairs.message = 'Paused before the built-in translator was ready.';
    else {
      pairs.problem = err instanceof Error ? err.message : String(err);
      if (err instanceof TranslateError) pairs.hint = whatNext(kind, err.kind, target);
    }
  } finally {
    stopTicker();
    preparing = null;
    pairs.phase = 'idle';
    pairs.running = false;
    release();
  }
}

async function persist(english: EnglishData, lang: string, translatorId: string, complete: boolean): Promise<void> {
  const c = pairs.counts;
  if (!c || c.done === 0) return;
  const meta: PairSetMeta = {
    id: jobSetId,
    name: `${english.name} → ${lang} (${pairs.pairs.length} pairs)`,
    englishName: english.name,
    lang,
    translatorId,
    translatorLabel: translatorLabel(),
    createdAt: jobCreatedAt,
    updatedAt: Date.now(),
    total: c.total,
    joint: c.joint,
    fallback: c.fallback,
    failed: c.failed,
    complete,
    licence: english.entry?.licence,
    attribution: english.entry?.attribution,
  };
  try {
    await pairSetStore.save(meta, { pairs: $state.snapshot(pairs.pairs), failures: $state.snapshot(pairs.failures) });
    pairs.shown = meta;
    pairs.saved = await pairSetStore.list();
  } catch (err) {
    pairs.problem = `The pairs are built but could not be saved: ${err instanceof Error ? err.message : String(err)}`;
  }
}

const when = (ms: number) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(ms);

let loaded = false;

/** Lists the saved pair sets; on first use (after a reload) shows the newest one. */
export async function loadSaved(): Promise<void> {
  pairs.saved = await pairSetStore.list();
  if (!loaded) {
    loaded = true;
    if (!pairs.job && pairs.pairs.length === 0 && pairs.saved.length > 0) await showSaved(pairs.saved[0].id);
  }
}

export async function showSaved(id: string): Promise<void> {
  const [meta, data] = await Promise.all([pairSetStore.getMeta(id), pairSetStore.get(id)]);
  if (!meta || !data) return;
  pairs.shown = meta;
  pairs.pairs = data.pairs;
  pairs.failures = data.failures as RecordFailure[];
  pairs.counts = {
    done: meta.joint + meta.fallback + meta.failed,
    total: meta.total,
    joint: meta.joint,
    fallback: meta.fallback,
    failed: meta.failed,
  };
  pairs.message = `Saved pairs: ${meta.name}, built with ${meta.translatorLabel} on ${when(meta.updatedAt)}.`;
  pairs.hint = null;
  pairs.problem = null;
}

export async function deleteSaved(id: string): Promise<void> {
  await pairSetStore.delete(id);
  if (pairs.shown?.id === id) {
    pairs.shown = null;
    if (!pairs.running && jobSetId === id) {
      pairs.job = null;
      jobKey = '';
    }
    pairs.pairs = [];
    pairs.failures = [];
    pairs.counts = null;
    pairs.message = null;
  }
  pairs.saved = await pairSetStore.list();
}

/** Name and provenance for "Train on these". */
export function shownInfo(): { name: string; lang: string; licence?: string; attribution?: string } | null {
  const s = pairs.shown;
  if (s) return { name: s.englishName, lang: s.lang, licence: s.licence, attribution: s.attribution };
  const e = pairs.english;
  return e ? { name: e.name, lang: pairs.lang, licence: e.entry?.licence, attribution: e.entry?.attribution } : null;
}
