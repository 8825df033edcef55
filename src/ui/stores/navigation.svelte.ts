/** Which view is shown (`nav.view`). `goto(viewId)` switches views from anywhere (e.g. Pairs → Train). */

export const VIEWS = [
  { id: 'start', label: 'Start here' },
  { id: 'model', label: 'Model' },
  { id: 'data', label: 'Data' },
  { id: 'pairs', label: 'Pairs' },
  { id: 'vocabulary', label: 'Vocabulary' },
  { id: 'train', label: 'Train' },
  { id: 'evaluate', label: 'Evaluate' },
  { id: 'compare', label: 'Compare' },
  { id: 'winrate', label: 'Win rate' },
  { id: 'playground', label: 'Playground' },
  { id: 'experiments', label: 'Experiments' },
  { id: 'about', label: 'About' },
] as const;

export type ViewId = (typeof VIEWS)[number]['id'];

function initial(): ViewId {
  const h = typeof location === 'undefined' ? '' : location.hash.slice(1);
  return (VIEWS.find((v) => v.id === h)?.id ?? 'model') as ViewId;
}

class NavigationState {
  view = $state<ViewId>(initial());
}

export const nav = new NavigationState();

export function goto(view: ViewId): void {
  nav.view = view;
  if (typeof history !== 'undefined') history.replaceState(null, '', `#${view}`);
}
