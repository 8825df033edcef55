/** Win-rate export (JSON, CSV) and import: the numbers in the file are the session's, checked by hand. */
import { describe, expect, it } from 'vitest';
import { createSession, recordJudgement } from '../../src/lib/eval/winrate';
import { csvField, parseWinRateJson, winRateCsv, winRateJson } from '../../src/lib/eval/winrate-export';

function judged() {
  const prompts = [
    { prompt: 'Once, "a" dog', x: 'X0', y: 'Y0' },
    { prompt: 'p1', x: 'X1, with comma', y: 'Y1' },
    { prompt: 'p2', x: 'X2\nline', y: 'Y2' },
    { prompt: 'p3', x: 'X3', y: 'Y3' },
  ];
  let s = createSession('wr-1', 'run A', 'base', prompts, 3, 1000);
  // make X win 0 and 1, tie 2, leave 3 open: pick whichever letter X is shown as
  const pickX = (i: number) => (s.items[i].aIs === 'x' ? 'a' : 'b');
  s = recordJudgement(s, 0, pickX(0));
  s = recordJudgement(s, 1, pickX(1));
  s = recordJudgement(s, 2, 'tie');
  return s;
}

describe('win-rate export', () => {
  it('JSON holds prompts, both answers, judgements, totals and the Wilson interval', () => {
    const s = judged();
    const doc = JSON.parse(winRateJson(s, { maxNewTokens: 8, temperature: 0.8, topP: 1, seed: 3 }));
    expect(doc.format).toBe('clo-lab-winrate');
    expect(doc.items).toHaveLength(4);
    expect(doc.items[1]).toMatchObject({ prompt: 'p1', answerX: 'X1, with comma', answerY: 'Y1', outcome: 'x' });
    expect(doc.items[3].judgement).toBeNull();
    expect(doc.totals).toEqual({ total: 4, judged: 3, wins: 2, ties: 1, losses: 0 });
    // (2 + 0.5) / 3 = 0.8333; Wilson by hand: centre (0.83333 + 0.64027)/2.28055 = 0.64616,
    // half 1.96·sqrt(0.046296 + 0.106722)/2.28055 = 0.33618 → [0.3100, 0.9823]
    expect(doc.winRate.rate).toBeCloseTo(2.5 / 3, 10);
    expect(doc.winRate.ciLow).toBeCloseTo(0.31, 3);
    expect(doc.winRate.ciHigh).toBeCloseTo(0.9823, 3);
    expect(doc.winRate).toMatchObject({ method: 'wilson', ties: 'half', chance: 0.5, level: 0.95 });
    expect(doc.generation.maxNewTokens).toBe(8);
  });

  it('imports its own JSON back to the same session', () => {
    const s = judged();
    const back = parseWinRateJson(winRateJson(s));
    expect(back.session).toEqual(s);
    expect(() => parseWinRateJson('{"format":"other"}')).toThrow(/not a win-rate export/);
    expect(() => parseWinRateJson('nope')).toThrow(/not JSON/);
    const bad = JSON.parse(winRateJson(s));
    bad.session.items[2].judgement = 'maybe';
    expect(() => parseWinRateJson(JSON.stringify(bad))).toThrow(/item 3 is malformed/);
  });

  it('CSV has one quoted row per prompt, then the totals', () => {
    const csv = winRateCsv(judged());
    const lines = csv.split('\n');
    expect(lines[0]).toBe('index,prompt,answer_x,answer_y,shown_as_a,judgement,outcome');
    expect(lines[1]).toMatch(/^1,"Once, ""a"" dog",X0,Y0,[xy],[ab],x$/);
    expect(csv).toContain('"X2\nline"');
    expect(csv).toContain('\nwins,2\n');
    expect(csv).toContain('\nties,1\n');
    expect(csv).toContain('\nchance,0.5\n');
    expect(Number(/\nci95_low,([\d.]+)\n/.exec(csv)?.[1])).toBeCloseTo(0.31, 3);
    expect(csvField(null)).toBe('');
  });
});
