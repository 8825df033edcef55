/** Translation: pluggable translators and the multi-component pair builder (docs/methods.md §7). */
export * from './types';
export { LibreTranslateTranslator, LIBRETRANSLATE_DEFAULTS, type LibreTranslateOptions } from './libretranslate';
export { parallelTranslatorFromText, pairsFromRecord, type ParallelLoad } from './parallel';
export { manualExportItems, manualExportJsonl, manualImport, type ManualItem, type ManualImport } from './manual';
export {
  BrowserTranslator,
  BROWSER_TIMEOUT_MS,
  browserTranslatorSupported,
  browserTranslatorAvailability,
  type BrowserAvailability,
} from './browser-api';
export { LookupTable, LookupTranslator, lookupCoverage, type LookupCoverage } from './lookup';
export { deadline, formatMs } from './timeout';
export { whatNext, type TranslatorKind } from './hints';
export { cachedTranslator, cacheKey, CACHE_PREFIX, type CachedTranslator } from './cache';
export * from './multicomponent';
export {
  PairJob,
  recordFailures,
  type RecordFailure,
  type JobRecord,
  type RecordResult,
  type JobCounts,
  type JobOutcome,
  type PairJobOptions,
} from './job';
export { jobRecordOf, cloPairs, cloJson, pairsJsonl, type CloPair, type CloJson } from './pairs';
export { textHash } from './hash';
