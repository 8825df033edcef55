/**
 * What to do next when a translator stops: one sentence per translator and error kind, shown under
 * the error in the Pairs view (and usable by the CLI). The error says what happened; this says
 * what the person can do about it.
 */
import type { TranslateErrorKind } from './types';

export type TranslatorKind = 'browser' | 'libretranslate' | 'parallel' | 'manual';

const OFFLINE_ROUTES =
  'use the parallel-corpus lookup with a corpus that contains your texts, the manual route (export, translate elsewhere, import), or a LibreTranslate server on this machine';

export function whatNext(
  translator: TranslatorKind,
  kind: TranslateErrorKind | 'unknown',
  target = 'the target',
): string {
  switch (translator) {
    case 'browser':
      if (kind === 'timeout')
        return `The built-in translator needs an on-device language pack for English→${target}, which it downloads on first use; offline, or where the browser offers none, it never gets ready. Connect and try again (a longer time limit helps a slow download), or ${OFFLINE_ROUTES}.`;
      if (kind === 'unavailable')
        return `This browser cannot translate English→${target} on the device (Chrome 138+ desktop has the built-in Translator API). Instead, ${OFFLINE_ROUTES}.`;
      break;
    case 'libretranslate':
      if (kind === 'unreachable')
        return 'Nothing answered at that address. Start a server (e.g. `pip install libretranslate && libretranslate --load-only en,ko`), check the URL, and make sure it allows this page’s origin (CORS); or use the parallel corpus or the manual route.';
      if (kind === 'timeout')
        return 'The server accepted the request but did not answer in time: raise the timeout, lower “Requests at once”, or check the server’s log (the first request loads its models and can be slow).';
      if (kind === 'http')
        return 'The server refused the request: check the API key and that it has the English and target-language models (its /languages page lists them).';
      if (kind === 'malformed')
        return 'The answer was not LibreTranslate’s {translatedText}: check that the URL points at a LibreTranslate-compatible server.';
      break;
    case 'parallel':
      if (kind === 'missing')
        return 'A lookup only translates texts the corpus contains word for word. Choose English data whose texts are in the corpus, upload a corpus made for your data, or use another translator.';
      if (kind === 'unavailable')
        return 'The corpus is for another language pair: load one whose sides match English and the target language.';
      break;
    case 'manual':
      if (kind === 'missing')
        return 'The imported file has no translation for these texts: export again (only the missing texts are exported), translate them, and import the result.';
      break;
  }
  if (kind === 'aborted') return 'Paused by request: Build pairs again to continue where it stopped.';
  return `Try again, or ${OFFLINE_ROUTES}.`;
}
