// Svelte options shared by vite-plugin-svelte, svelte-check, eslint-plugin-svelte and prettier-plugin-svelte.
// No preprocessors: Svelte 5 strips TypeScript in `<script lang="ts">` itself and the styles are plain CSS.
export default {};
