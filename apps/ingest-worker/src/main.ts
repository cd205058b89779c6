import { IngestWorkerConfig } from '@immish/contracts';
import { detectMediaTools } from '@immish/media';
import { runWorkerProcess } from '@immish/runtime';
import { ReadBufferPool } from './read-buffers.ts';
import { startIngestWorker } from './worker.ts';

// Ingest worker process (docs/spec.md §2, §8).
await runWorkerProcess({
  service: 'ingest-worker',
  config: IngestWorkerConfig,
  metricsPort: (config) => config.INGEST_METRICS_PORT,
  start: async ({ config, services, logger, metrics }) => {
    // Detected once: HEIC needs heif-convert, videos ffprobe/ffmpeg (README "Formats"). A missing one leaves
    // its formats with placeholders; readiness reports it so an operator sees why.
    const tools = await detectMediaTools();
    const missing = Object.entries(tools)
      .filter(([, version]) => version === null)
      .map(([tool]) => tool);
    if (missing.length > 0) logger.warn({ tools, missing }, 'media tools missing: HEIC/videos get placeholders');
    else logger.info({ tools }, 'media tools found');
    services.readiness.mediaTools = async () => {
      if (missing.length > 0) throw new Error(`missing ${missing.join(', ')} (HEIC/video placeholders only)`);
      return tools;
    };
    // Checksum read buffers reused across the process's jobs (no garbage per file), built here and passed down.
    const readBuffers = new ReadBufferPool();
    return startIngestWorker({
      config,
      db: services.db,
      storage: services.storage,
      logger,
      metrics,
      tools,
      readBuffers,
    });
  },
});
