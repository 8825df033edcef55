/**
 * The bundled-dataset manifest (`public/data/manifest.json`, written by scripts/make-data-slices.ts).
 * Paths are relative to the site root: fetch `${import.meta.env.BASE_URL}${entry.file}`.
 */
import type { RowShape } from './shapes';

/**
 * What a bundled dataset is for:
 * - `sft`: instruction rows for SFT (parseDataFile gives sft rows);
 * - `clo`: en/target pairs that parseDataFile turns into CLO rows;
 * - `prompts`: en/target instruction pairs without target outputs — English SFT records for the
 *   pair builder (englishSftRecords) and parallel prompts for evaluation; not trainable as CLO as is;
 * - `parallel`: {en, <lang>} sentence pairs (translation lookup / evaluation), not training rows.
 */
export type DatasetKind = 'sft' | 'clo' | 'prompts' | 'parallel';

export interface DatasetEntry {
  id: string;
  title: string;
  /** path relative to the site root, e.g. "data/instructions/paired_alpaca_koalpaca_en_ko.jsonl" */
  file: string;
  kind: DatasetKind;
  /** row shape as parseDataFile detects it, or "parallel" for sentence pairs */
  shape: RowShape | 'parallel';
  /** lines in the file */
  rows: number;
  /** rows parseDataFile accepts (englishSftRecords for `prompts`; pairs with both sides for `parallel`) */
  usableRows: number;
  bytes: number;
  sha256: string;
  languages: string[];
  licence: string;
  licenceUrl: string;
  /** true for CC BY-NC data: non-commercial use only */
  nonCommercial: boolean;
  attribution: string;
  source: string;
  /** what this slice changed relative to the shared/data file */
  changes: string;
  notes: string;
}

export interface DataManifest {
  version: 1;
  generatedBy: string;
  datasets: DatasetEntry[];
}

/** Loose runtime check for a fetched manifest; throws naming the first bad entry. */
export function checkManifest(value: unknown): DataManifest {
  const m = value as Partial<DataManifest> | null;
  if (!m || m.version !== 1 || !Array.isArray(m.datasets))
    throw new Error('manifest.json: expected {version: 1, datasets: [...]}');
  m.datasets.forEach((d, i) => {
    for (const k of ['id', 'title', 'file', 'kind', 'licence', 'attribution'] as const)
      if (typeof d?.[k] !== 'string' || d[k] === '') throw new Error(`manifest.json: datasets[${i}] has no "${k}"`);
  });
  return m as DataManifest;
}
