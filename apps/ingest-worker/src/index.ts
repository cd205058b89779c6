export { ContentError, type IngestDeps, type IngestOutcome, markFailed, processIngestJob } from './processor.ts';
export { type IngestWorkerDeps, type IngestWorkerHandle, ingestConcurrency, startIngestWorker } from './worker.ts';
