/**
 * Writes the language-fidelity prompts (docs/methods.md §5) to public/data/fidelity/ (deterministic).
 *
 *   npx tsx scripts/make-fidelity-prompts.ts
 *
 * Takes, in file order, the first PER_LANG rows with an empty input and a short instruction from the
 * bundled instruction slices (Korean: KoAlpaca, English: Self-Instruct), formats each with the Alpaca
 * template, and writes prompts.jsonl ({id, lang, prompt}) plus ATTRIBUTION.md built from manifest.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alpacaPrompt } from '../src/lib/data/template';

const PER_LANG = 8;

interface SourceSpec {
  lang: 'ko' | 'en';
  file: string;
  /** the row field that identifies a row in its source */
  idField: string;
  /** longest instruction taken, in UTF-16 code units */
  maxChars: number;
}

const SOURCES: SourceSpec[] = [
  { lang: 'ko', file: 'instructions/ko_koalpaca_v1.0_300.jsonl', idField: 'koalpaca_index', maxChars: 40 },
  { lang: 'en', file: 'instructions/en_self_instruct_300.jsonl', idField: 'id', maxChars: 60 },
];

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = join(repoRoot, 'public', 'data');
const outDir = join(dataDir, 'fidelity');

function pick(spec: SourceSpec): { id: string; lang: string; prompt: string }[] {
  const lines = readFileSync(join(dataDir, spec.file), 'utf8').split('\n');
  const out: { id: string; lang: string; prompt: string }[] = [];
  lines.forEach((line, i) => {
    if (out.length >= PER_LANG || line.trim() === '') return;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line);
    } catch {
      throw new Error(`${spec.file} line ${i + 1}: not valid JSON`);
    }
    const instruction = row.instruction;
    const input = row.input ?? '';
    if (typeof instruction !== 'string' || typeof input !== 'string')
      throw new Error(`${spec.file} line ${i + 1}: instruction/input not strings`);
    if (input.trim() !== '' || instruction.trim() === '' || instruction.length > spec.maxChars) return;
    out.push({
      id: `${spec.lang}-${String(row[spec.idField] ?? i + 1)}`,
      lang: spec.lang,
      prompt: alpacaPrompt(instruction.trim()),
    });
  });
  if (out.length < PER_LANG) throw new Error(`${spec.file}: only ${out.length} rows fit (need ${PER_LANG})`);
  return out;
}

interface ManifestEntry {
  file: string;
  title: string;
  licence: string;
  licenceUrl: string;
  attribution: string;
  source: string;
}

function attribution(): string {
  const manifest = JSON.parse(readFileSync(join(dataDir, 'manifest.json'), 'utf8')) as { datasets: ManifestEntry[] };
  const parts = SOURCES.map((s) => {
    const m = manifest.datasets.find((d) => d.file === `data/${s.file}`);
    if (!m) throw new Error(`manifest.json: no entry for data/${s.file}`);
    return `- ${s.lang} prompts (ids \`${s.lang}-…\`): instructions from \`${s.file}\` — ${m.title}.\n  Licence: ${m.licence} (${m.licenceUrl}).\n  ${m.attribution}\n  Upstream: ${m.source}.`;
  });
  return [
    '# Language-fidelity prompts: attribution',
    '',
    '`prompts.jsonl` was written by `scripts/make-fidelity-prompts.ts`: the first',
    `${PER_LANG} rows per language with an empty input and a short instruction, each formatted with the`,
    'Alpaca template (docs/methods.md §6). Changes: instruction trimmed and wrapped in the template;',
    'inputs and outputs left out. Each prompt keeps the licence of the file it came from.',
    '',
    ...parts,
    '',
    'The Korean prompts derive from a CC BY-NC 4.0 dataset: non-commercial use only.',
    '',
  ].join('\n');
}

const rows = SOURCES.flatMap(pick);
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'prompts.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
writeFileSync(join(outDir, 'ATTRIBUTION.md'), attribution());
process.stderr.write(`wrote ${rows.length} prompts to public/data/fidelity/prompts.jsonl\n`);
