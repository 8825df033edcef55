/**
 * The issue-16 sweep: every case of sweep-cases.ts as a child process (time limit, V8 heap cap),
 * one verdict each, counts per verdict at the end; exit 1 when any case is a stack trace, hang,
 * crash, corrupt write or data loss.
 *   npx tsx tests/fuzz/cli-sweep.ts [--only SUBSTRING[,SUBSTRING...]] [--width N] [--report FILE.json]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFixtures, runCases, VERDICTS, type Verdict } from './sweep-lib';
import { buildCases } from './sweep-cases';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};

const root = mkdtempSync(join(tmpdir(), 'clo-sweep-'));
const fx = await makeFixtures(root);
const only = arg('only');
const cases = buildCases(fx).filter((c) => !only || only.split(',').some((o) => c.name.includes(o)));
process.stderr.write(`${cases.length} cases, fixtures in ${root}\n`);
const t0 = Date.now();
const BAD: Verdict[] = ['accepted-bad', 'refused-good', 'stack-trace', 'hang', 'crash', 'corrupt-write', 'data-loss'];
const results = await runCases(cases, fx.inputs, {
  width: Number(arg('width') ?? 2),
  onResult: (r, i) => {
    const flag = BAD.includes(r.verdict) ? ` ← ${r.why.replace(/\s+/g, ' ').slice(0, 300)}` : '';
    process.stderr.write(
      `[${i + 1}/${cases.length}] ${r.verdict.padEnd(13)} ${(r.ms / 1000).toFixed(1).padStart(5)}s ${r.name}${flag}\n`,
    );
  },
});
await fx.close();
const counts = Object.fromEntries(VERDICTS.map((v) => [v, results.filter((r) => r.verdict === v).length]));
console.log(JSON.stringify({ cases: results.length, minutes: +((Date.now() - t0) / 60000).toFixed(1), counts }));
const report = arg('report');
if (report)
  writeFileSync(
    report,
    JSON.stringify(
      results.map(({ name, verdict, why, code, ms }) => ({ name, verdict, why, code, ms })),
      null,
      1,
    ),
  );
rmSync(root, { recursive: true, force: true });
process.exit(
  results.some((r) => ['stack-trace', 'hang', 'crash', 'corrupt-write', 'data-loss'].includes(r.verdict)) ? 1 : 0,
);
