/**
 * Writes the app's bundled data slices, manifest and attribution file from the shared data sets.
 *
 *   npx tsx scripts/make-data-slices.ts [SHARED_DATA_DIR]     (default: ../shared/data next to the repo)
 *
 * Output (deterministic: fixed row ranges, original lines kept byte for byte unless a field rename
 * is listed under `changes`):
 *   public/data/instructions/*.jsonl, public/data/parallel/*.jsonl,
 *   public/data/manifest.json, public/data/ATTRIBUTION.md
 * Every slice is parsed with the app's own parser and the usable row count goes into the manifest.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { englishSftRecords, parseDataFile } from '../src/lib/data/index';
import type { DataManifest, DatasetEntry, DatasetKind } from '../src/lib/data/manifest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sharedData = resolve(process.argv[2] ?? join(repoRoot, '..', 'shared', 'data'));
const publicDir = join(repoRoot, 'public');

const LICENCES = {
  'CC BY-NC 4.0': 'https://creativecommons.org/licenses/by-nc/4.0/',
  'CC BY-SA 3.0': 'https://creativecommons.org/licenses/by-sa/3.0/',
  'Apache-2.0': 'https://www.apache.org/licenses/LICENSE-2.0',
  MIT: 'https://opensource.org/licenses/MIT',
} as const;
type Licence = keyof typeof LICENCES;

interface SliceSpec {
  id: string;
  title: string;
  /** path under shared/data */
  src: string;
  /** path under public/ */
  dest: string;
  /** 0-based line range [from, from + count); omitted = the whole file, copied verbatim */
  range?: { from: number; count: number };
  /** field renames applied to every row (the row is then re-serialised) */
  rename?: Record<string, string>;
  kind: DatasetKind;
  languages: string[];
  licence: Licence;
  attribution: string;
  source: string;
  notes: string;
}

const ALPACA_ATTR = 'Stanford Alpaca (Taori et al. 2023), CC BY-NC 4.0';
const KOALPACA_ATTR =
  'KoAlpaca v1.0 dataset by Junbum Lee (Beomi), CC BY-NC 4.0; based on Stanford Alpaca (Taori et al. 2023), CC BY-NC 4.0. Non-commercial use only.';
const PARALLEL_ATTR =
  'Jungyeul Park, Jeen-Pyo Hong, Jeong-Won Cha (2016), "Korean Language Resources for Everyone", PACLIC 30, https://www.aclweb.org/anthology/Y16-2002/ (jungyeul/korean-parallel-corpora), CC BY-SA 3.0.';

const SLICES: SliceSpec[] = [
  {
    id: 'paired-alpaca-koalpaca-en-ko',
    title: 'Alpaca ↔ KoAlpaca instruction pairs, en–ko (CLO training data)',
    src: 'instructions/paired_alpaca_koalpaca_en_ko.jsonl',
    dest: 'data/instructions/paired_alpaca_koalpaca_en_ko.jsonl',
    kind: 'clo',
    languages: ['en', 'ko'],
    licence: 'CC BY-NC 4.0',
    attribution: `${ALPACA_ATTR} (English side); ${KOALPACA_ATTR}`,
    source:
      'en: Rock0421/test @ 07d637967d63933b865dee55e99733e9c92160c4 : alpaca_data.json (prefix copy of tatsu-lab/stanford_alpaca); ko: KoAlpaca rows 0–334 via Volume21/github_test @ 8f82003faf5373c8a9a09ebdbcc40a78fab98ced : ko_alpaca_data.json',
    notes:
      'NON-COMMERCIAL. Instructions and inputs are translations; outputs were generated independently (en: text-davinci-003, ko: gpt-3.5-turbo). Rows with id alpaca_70–alpaca_78 have wrong Korean outputs (upstream defect); one row has an empty en_output and is skipped by the parser.',
  },
  {
    id: 'paired-selfinstruct-kullm-en-ko',
    title: 'Self-Instruct user-oriented tasks ↔ KULLM Korean translation, en–ko (prompts)',
    src: 'instructions/paired_selfinstruct_kullm_en_ko.jsonl',
    dest: 'data/instructions/paired_selfinstruct_kullm_en_ko.jsonl',
    kind: 'prompts',
    languages: ['en', 'ko'],
    licence: 'Apache-2.0',
    attribution:
      'Self-Instruct, Wang et al. 2022, Apache-2.0. Korean translation of Self-Instruct user-oriented tasks: KULLM, NLP & AI Lab, Korea University, Apache-2.0.',
    source:
      'en: yizhongw/self-instruct @ 0b26ccaa415992100fa32df62d41b994cf928e23 : human_eval/user_oriented_instructions.jsonl; ko: nlpai-lab/KULLM @ e75298050ebfef32f63eb5d638b624cbbc64b477 : data/user_oriented_instructions_eval.jsonl',
    notes:
      'ko_output is null in every row (KULLM translated instructions and inputs only), so the file is not CLO training data as is: use it as English SFT input for the pair builder, or as parallel evaluation prompts.',
  },
  {
    id: 'dolly-en',
    title: 'databricks-dolly-15k (English), 300 rows',
    src: 'instructions/en_dolly15k_subset.jsonl',
    dest: 'data/instructions/en_dolly15k_300.jsonl',
    range: { from: 0, count: 300 },
    kind: 'sft',
    languages: ['en'],
    licence: 'CC BY-SA 3.0',
    attribution:
      'Contains data from databricks-dolly-15k, © Databricks, Inc., CC BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/), modified (ASCII-normalised by a third party, context/category removed, filtered, cut to 300 rows). Derived files must stay CC BY-SA.',
    source:
      'nayohan/dolly-15k-analysis @ 5797d87c90c8c13a8ec79897381991a280092945 : dolly_decode_bak/google_flan-t5-xl_decode_output.jsonl (upstream databricks/databricks-dolly-15k)',
    notes:
      'Fields instruction/response (Alpaca shape with `response` for `output`). Non-ASCII characters were stripped upstream.',
  },
  {
    id: 'self-instruct-en',
    title: 'Self-Instruct human-written tasks (English), 300 rows',
    src: 'instructions/en_self_instruct_human.jsonl',
    dest: 'data/instructions/en_self_instruct_300.jsonl',
    range: { from: 0, count: 300 },
    kind: 'sft',
    languages: ['en'],
    licence: 'Apache-2.0',
    attribution: 'Self-Instruct, Wang et al. 2022, Apache-2.0.',
    source:
      'yizhongw/self-instruct @ 0b26ccaa415992100fa32df62d41b994cf928e23 : data/seed_tasks.jsonl + human_eval/user_oriented_instructions.jsonl',
    notes: 'The 175 seed tasks followed by the first 125 user-oriented tasks; one instance per task.',
  },
  {
    id: 'koalpaca-ko',
    title: 'KoAlpaca v1.0 (Korean), 300 rows',
    src: 'instructions/ko_koalpaca_v1.0_first5000.jsonl',
    dest: 'data/instructions/ko_koalpaca_v1.0_300.jsonl',
    range: { from: 335, count: 300 },
    kind: 'sft',
    languages: ['ko'],
    licence: 'CC BY-NC 4.0',
    attribution: KOALPACA_ATTR,
    source:
      'Beomi/KoAlpaca : ko_alpaca_data.json via Volume21/github_test @ 8f82003faf5373c8a9a09ebdbcc40a78fab98ced : ko_alpaca_data.json',
    notes:
      'NON-COMMERCIAL. Rows koalpaca_index 335–634, after the rows used in the en–ko pairs. Outputs were generated with gpt-3.5-turbo; some belong to a neighbouring instruction (upstream batching defect).',
  },
  {
    id: 'ko-chatbot',
    title: 'Korean chatbot Q/A pairs, 300 rows',
    src: 'instructions/ko_chatbot_data_sample5000.jsonl',
    dest: 'data/instructions/ko_chatbot_300.jsonl',
    range: { from: 0, count: 300 },
    rename: { Q: 'instruction', A: 'output' },
    kind: 'sft',
    languages: ['ko'],
    licence: 'MIT',
    attribution:
      'Youngsook Song (2018), Chatbot_data_for_Korean v1.0, https://github.com/songys/Chatbot_data, MIT. Copyright (c) 2018 Youngsook Song.',
    source: 'songys/Chatbot_data @ 4cf20d13fc46f5037fd1c531cd566e2dd9f72974 : ChatbotData.csv (seeded sample)',
    notes: 'Short casual Q/A pairs, not task instructions. label: 0 everyday, 1 breakup (negative), 2 love (positive).',
  },
  {
    id: 'parallel-jhe-en-ko',
    title: 'JHE English–Korean sentence pairs, 300 rows',
    src: 'parallel/jhe_en_ko.jsonl',
    dest: 'data/parallel/jhe_en_ko_300.jsonl',
    range: { from: 0, count: 300 },
    kind: 'parallel',
    languages: ['en', 'ko'],
    licence: 'CC BY-SA 3.0',
    attribution: `${PARALLEL_ATTR} Cut to 300 rows.`,
    source:
      'jungyeul/korean-parallel-corpora @ a1fb53dc5216f3a2d07d973456d8921ed23c88c6 : korean-english-jhe/jhe-koen-dev.{en,ko}',
    notes:
      'JHE evaluation data (dev split), also at https://doi.org/10.5281/zenodo.891295; the Zenodo record’s own licence field was not checked.',
  },
  {
    id: 'parallel-news-en-ko',
    title: 'Korean–English news sentence pairs, 300 rows',
    src: 'parallel/news_v1_en_ko.jsonl',
    dest: 'data/parallel/news_v1_en_ko_300.jsonl',
    range: { from: 0, count: 300 },
    kind: 'parallel',
    languages: ['en', 'ko'],
    licence: 'CC BY-SA 3.0',
    attribution: `${PARALLEL_ATTR} Cut to 300 rows.`,
    source:
      'jungyeul/korean-parallel-corpora @ a1fb53dc5216f3a2d07d973456d8921ed23c88c6 : korean-english-news-v1/korean-english-park.dev.tar.gz',
    notes: 'The Korean side is tokenised in places (e.g. "세계 에서"), as in the source.',
  },
];

function renameFields(line: string, rename: Record<string, string>): string {
  const rec = JSON.parse(line) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) out[rename[k] ?? k] = v;
  return JSON.stringify(out);
}

function buildSlice(spec: SliceSpec): { text: string; changes: string } {
  const srcText = readFileSync(join(sharedData, spec.src), 'utf8');
  if (!spec.range && !spec.rename) return { text: srcText, changes: 'none: the whole file, byte for byte' };
  let lines = srcText.split('\n').filter((l) => l.trim() !== '');
  const changes: string[] = [];
  if (spec.range) {
    const { from, count } = spec.range;
    if (from + count > lines.length)
      throw new Error(`${spec.src}: has ${lines.length} rows, slice needs ${from + count}`);
    lines = lines.slice(from, from + count);
    changes.push(`lines ${from + 1}–${from + count} of ${spec.src.split('/').pop()}`);
  }
  if (spec.rename) {
    const rename = spec.rename;
    lines = lines.map((l) => renameFields(l, rename));
    changes.push(
      `fields renamed ${Object.entries(rename)
        .map(([a, b]) => `${a} → ${b}`)
        .join(', ')}`,
    );
  }
  return { text: `${lines.join('\n')}\n`, changes: changes.join('; ') };
}

function usableRows(spec: SliceSpec, text: string): { rows: number; usable: number; shape: DatasetEntry['shape'] } {
  const name = spec.dest.split('/').pop() ?? spec.dest;
  const rows = text.split('\n').filter((l) => l.trim() !== '').length;
  if (spec.kind === 'parallel') {
    const [a, b] = spec.languages;
    const usable = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => typeof r[a] === 'string' && r[a] !== '' && typeof r[b] === 'string' && r[b] !== '').length;
    return { rows, usable, shape: 'parallel' };
  }
  const result = spec.kind === 'prompts' ? englishSftRecords(text, name) : parseDataFile(text, name);
  if (result.shape === 'unknown') throw new Error(`${spec.dest}: the parser recognises no row shape`);
  const kindOk = spec.kind === 'prompts' || result.rows.length > 0;
  if (!kindOk) throw new Error(`${spec.dest}: no usable rows`);
  return { rows, usable: result.rows.length, shape: result.shape };
}

function attributionMarkdown(entries: DatasetEntry[]): string {
  const parts = [
    '# Bundled data: sources, licences and attribution',
    '',
    "Written by `scripts/make-data-slices.ts` from the lab's shared data sets; regenerate rather than edit.",
    'Each file keeps its own licence. **Two files are non-commercial (CC BY-NC 4.0)**: keep them out of anything commercial.',
    '',
    '| file | licence | non-commercial |',
    '| --- | --- | --- |',
    ...entries.map((e) => `| \`${e.file}\` | ${e.licence} | ${e.nonCommercial ? '**yes**' : 'no'} |`),
    '',
  ];
  for (const e of entries) {
    parts.push(
      `## ${e.title}`,
      '',
      `- File: \`${e.file}\` (${e.rows} rows)`,
      `- Licence: ${e.licence}${e.nonCommercial ? ' — **non-commercial use only**' : ''} (${e.licenceUrl})`,
      `- Attribution: ${e.attribution}`,
      `- Source: ${e.source}`,
      `- Changes: ${e.changes}`,
      `- Notes: ${e.notes}`,
      '',
    );
  }
  return parts.join('\n');
}

function main(): void {
  const entries: DatasetEntry[] = [];
  for (const spec of SLICES) {
    const { text, changes } = buildSlice(spec);
    const dest = join(publicDir, spec.dest);
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, text);
    const { rows, usable, shape } = usableRows(spec, text);
    entries.push({
      id: spec.id,
      title: spec.title,
      file: spec.dest,
      kind: spec.kind,
      shape,
      rows,
      usableRows: usable,
      bytes: Buffer.byteLength(text),
      sha256: createHash('sha256').update(text).digest('hex'),
      languages: spec.languages,
      licence: spec.licence,
      licenceUrl: LICENCES[spec.licence],
      nonCommercial: spec.licence === 'CC BY-NC 4.0',
      attribution: spec.attribution,
      source: spec.source,
      changes,
      notes: spec.notes,
    });
    process.stderr.write(`${spec.dest}: ${rows} rows (${usable} usable, ${shape}), ${Buffer.byteLength(text)} bytes\n`);
  }
  const manifest: DataManifest = { version: 1, generatedBy: 'scripts/make-data-slices.ts', datasets: entries };
  writeFileSync(join(publicDir, 'data', 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(publicDir, 'data', 'ATTRIBUTION.md'), attributionMarkdown(entries));
}

main();
