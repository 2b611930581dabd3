/** What {@link stopOnSignals} logs with (a pino logger fits). */
export interface ShutdownLogger {
  info(object: object, message?: string): void;
  info(message: string): void;
  error(object: object, message?: string): void;
}

/** How long a process may take to stop after SIGTERM before it exits anyway, by default. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 15_000;

/**
 * Stops the process gracefully on SIGTERM or SIGINT: runs `stop` once (which should make
 * readiness fail first, stop accepting, tell streaming clients to reconnect elsewhere and finish
 * in-flight requests), then exits 0; if `stop` fails or takes longer than `timeoutMs`, exits 1 so
 * an orchestrator never waits on a hung process.
 */
export function stopOnSignals(
  logger: ShutdownLogger,
  stop: () => Promise<void>,
  timeoutMs: number = DEFAULT_SHUTDOWN_TIMEOUT_MS,
): void {
  onStopSignal(logger, stop, timeoutMs);
}

/**
 * {@link stopOnSignals} for a server with a drain step: `drain()` (readiness fails), then after
 * `drainDelayMs` `close()` and `after()`.
 */
export function drainOnSignals(
  logger: ShutdownLogger,
  server: { drain(): void; close(): Promise<void> },
  options: { drainDelayMs: number; timeoutMs: number; after?: () => Promise<void> },
): void {
  onStopSignal(
    logger,
    async () => {
      server.drain();
      if (options.drainDelayMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, options.drainDelayMs));
      }
      await server.close();
      await options.after?.();
    },
    options.drainDelayMs + options.timeoutMs,
  );
}

function onStopSignal(logger: ShutdownLogger, stop: () => Promise<void>, timeoutMs: number): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, timeoutMs }, 'stopping');
    const fuse = setTimeout(() => {
      logger.error({ timeoutMs }, 'stop took too long; exiting');
      process.exit(1);
    }, timeoutMs);
    fuse.unref();
    stop().then(
      () => {
        clearTimeout(fuse);
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
