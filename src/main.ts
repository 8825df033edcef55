import { mount } from 'svelte';
import App from './App.svelte';
import './ui/app.css';
import { requestPersistence } from './lib/store/idb';

const app = mount(App, { target: document.getElementById('app')! });

// Offline after the first load (production builds only: the dev server's modules are not precached).
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((err) => console.warn('service worker not registered:', err));
}
void requestPersistence();

export default app;
