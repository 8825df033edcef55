import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../cli/commands/eval';

function capture() {
  const err: string[] = [];
  const out: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  return { err, out };
}

describe('lab eval: bad input gives one line naming the flag and a non-zero exit', () => {
  afterEach(() => vi.restoreAllMocks());

  it('unknown task', async () => {
    const c = capture();
    expect(await run(['--model', 'stories260K', '--tasks', 'kobest_copa,kobest_nope'])).not.toBe(0);
    expect(c.err.join('')).toMatch(/^eval: --tasks: unknown task "kobest_nope"/);
    expect(c.err.join('').trim().split('\n')).toHaveLength(1);
    expect(c.out).toEqual([]);
  });

  it('a split the task does not have', async () => {
    const c = capture();
    expect(await run(['--model', 'stories260K', '--tasks', 'en_boolq', '--split', 'test'])).not.toBe(0);
    expect(c.err.join('')).toMatch(/--split: task en_boolq has no split "test"/);
  });

  it('missing --tasks, bad --limit', async () => {
    const c = capture();
    expect(await run(['--model', 'stories260K'])).toBe(2);
    expect(await run(['--model', 'stories260K', '--tasks', 'kobest_copa', '--limit', '0'])).toBe(2);
    const lines = c.err.join('').trim().split('\n');
    expect(lines[0]).toMatch(/--tasks/);
    expect(lines[1]).toMatch(/--limit/);
  });

  it('--help lists the flags', async () => {
    const c = capture();
    expect(await run(['--help'])).toBe(0);
    expect(c.out.join('')).toMatch(/--shots/);
  });
});
