/** The recipes bundled with the lab (docs/experiments.md), validated at load. */
import { validateRecipe, type Recipe } from '../recipe';
import cloVsSft from './clo-vs-sft.json';
import dataEfficiency from './data-efficiency.json';
import sftDpoOrpo from './sft-dpo-orpo.json';
import saltInit from './salt-init.json';
import firstExperiment from './first-experiment.json';
import koreanJourney from './korean-journey.json';

export const BUNDLED_RECIPES: Recipe[] = [
  cloVsSft,
  dataEfficiency,
  sftDpoOrpo,
  saltInit,
  firstExperiment,
  koreanJourney,
].map((r) => validateRecipe(r));

export function bundledRecipe(name: string): Recipe | undefined {
  return BUNDLED_RECIPES.find((r) => r.name === name);
}

/** "ready", or what the recipe waits for (e.g. "needs the vocabulary step"). */
export function recipeAvailability(r: Recipe): string {
  return r.needs.length === 0 ? 'ready' : `needs the ${r.needs.join(', ')} step`;
}
