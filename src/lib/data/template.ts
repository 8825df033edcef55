/**
 * Prompt formatting (docs/methods.md §6).
 *
 * Alpaca prompt for instruction-shaped rows on models without a chat template:
 *   "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
 * with the Input block left out when the input is empty. The response follows directly.
 *
 * Chat rows ({messages}) and, on models with a chat template, instruction rows too, are rendered
 * with the model's Jinja chat template (@huggingface/jinja). Without a template, chat rows use the
 * plain fallback below, which for one user turn gives exactly the Alpaca prompt without input:
 *   system turn    → "### System:\n{content}\n\n"
 *   user turn      → "### Instruction:\n{content}\n\n"
 *   assistant turn → "### Response:\n{content}\n\n"   (earlier turns only)
 *   other role R   → "### R:\n{content}\n\n"
 *   then           → "### Response:\n"                 (the generation prompt)
 */
import { Template } from '@huggingface/jinja';

export interface InstructionParts {
  instruction: string;
  input: string;
  output: string;
}

export interface ChatMessage {
  role: string;
  content: string;
}

/** Options for rendering instruction and chat rows. */
export interface PromptOptions {
  /** a Jinja chat template (tokenizer_config.json `chat_template`); null/undefined → Alpaca / fallback */
  chatTemplate?: string | null;
  bosToken?: string;
  eosToken?: string;
}

/** The Alpaca prompt of docs/methods.md §6 (Input block left out when input is empty or blank). */
export function alpacaPrompt(instruction: string, input = ''): string {
  const inputBlock = input.trim() === '' ? '' : `### Input:\n${input}\n\n`;
  return `### Instruction:\n${instruction}\n\n${inputBlock}### Response:\n`;
}

/** The user message an instruction row becomes under a chat template: instruction, blank line, input. */
export function instructionAsUserMessage(instruction: string, input = ''): string {
  return input.trim() === '' ? instruction : `${instruction}\n\n${input}`;
}

/** Plain-text rendering of a conversation prefix when no chat template is given (see file header). */
export function plainChatPrompt(messages: ChatMessage[]): string {
  let out = '';
  for (const m of messages) {
    const label =
      m.role === 'system' ? 'System' : m.role === 'user' ? 'Instruction' : m.role === 'assistant' ? 'Response' : m.role;
    out += `### ${label}:\n${m.content}\n\n`;
  }
  return `${out}### Response:\n`;
}

/** A compiled chat template. Compiling once per file keeps rendering fast. */
export class ChatTemplate {
  private readonly template: Template;
  constructor(
    source: string,
    private readonly bosToken = '',
    private readonly eosToken = '',
  ) {
    this.template = new Template(source);
  }

  /** Renders the conversation so far with the generation prompt appended (the prompt for the next assistant turn). */
  prompt(messages: ChatMessage[]): string {
    return this.template.render({
      messages,
      bos_token: this.bosToken,
      eos_token: this.eosToken,
      add_generation_prompt: true,
    });
  }
}

/** Compiles a chat template, or returns null when none is given. Throws with the compiler's reason. */
export function compileChatTemplate(opts: PromptOptions | undefined): ChatTemplate | null {
  const src = opts?.chatTemplate;
  if (src == null || src.trim() === '') return null;
  return new ChatTemplate(src, opts?.bosToken ?? '', opts?.eosToken ?? '');
}

/** Prompt for the conversation prefix `history` (every message before the answer). */
export function chatPrompt(history: ChatMessage[], template: ChatTemplate | null): string {
  return template ? template.prompt(history) : plainChatPrompt(history);
}

/** Prompt for an instruction row: the chat template where there is one, else the Alpaca prompt. */
export function instructionPrompt(instruction: string, input: string, template: ChatTemplate | null): string {
  if (!template) return alpacaPrompt(instruction, input);
  return template.prompt([{ role: 'user', content: instructionAsUserMessage(instruction, input) }]);
}
