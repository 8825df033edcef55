/** The training worker's page handle lives beside its worker: workers/train/client.ts. */
export { onWorkerEvent, send, startWorker } from '../../../workers/train/client';
