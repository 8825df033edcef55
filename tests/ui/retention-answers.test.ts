/** Fidelity answers beside their prompts (src/ui/views/retention-rows.ts): instruction extraction and matching by id. */
import { describe, expect, it } from 'vitest';
import { fidelityAnswers, promptInstruction } from '../../src/ui/views/retention-rows';

describe('fidelity answers with their prompts', () => {
  it('promptInstruction takes the instruction out of the Alpaca template', () => {
    expect(promptInstruction('### Instruction:\n줄임표로 끝나는 문장을 만드세요.\n\n### Response:\n')).toBe(
      '줄임표로 끝나는 문장을 만드세요.',
    );
    expect(promptInstruction('### Instruction:\nTranslate this.\n\n### Input:\nhello\n\n### Response:\n')).toBe(
      'Translate this.',
    );
    expect(promptInstruction('  Once upon a time ')).toBe('Once upon a time');
  });

  it('matches answers to prompts by id; an unknown id has no prompt', () => {
    const out = fidelityAnswers(
      [
        { id: 'en-2', lang: 'en', text: 'Tim ran.', inLanguage: true },
        { id: 'ko-9', lang: 'ko', text: 'Lily', inLanguage: false },
      ],
      [
        { id: 'ko-1', prompt: '### Instruction:\n하나\n\n### Response:\n' },
        { id: 'en-2', prompt: '### Instruction:\nWrite a story.\n\n### Response:\n' },
      ],
    );
    expect(out.map((a) => [a.id, a.prompt, a.text])).toEqual([
      ['en-2', 'Write a story.', 'Tim ran.'],
      ['ko-9', null, 'Lily'],
    ]);
  });
});
