import type { Logger } from 'pino';

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown>;
}

/**
 * SIGTERM/SIGINT: run the steps in order (HTTP → workers → relay/writers → Redis/DB), then exit 0.
 * If they take longer than `timeoutMs`, exit 1 so an orchestrator does not wait forever.
 */
export function handleShutdown(steps: ShutdownStep[], opts: { logger: Logger; timeoutMs: number }): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    opts.logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      opts.logger.error({ timeoutMs: opts.timeoutMs }, 'shutdown timed out; forcing exit');
      process.exit(1);
    }, opts.timeoutMs);
    timer.unref();
    for (const step of steps) {
      try {
        await step.run();
      } catch (err) {
        opts.logger.warn({ step: step.name, err: (err as Error).message }, 'shutdown step failed');
      }
    }
    opts.logger.info('stopped');
    opts.logger.flush?.();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
