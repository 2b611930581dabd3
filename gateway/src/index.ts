import { drainOnSignals, loadOrExit } from '@courier/config';
import { createLogger } from '@courier/logging';
import { gatewayOptionsFromEnv, loadGatewayEnv } from './env.ts';
import { createGateway } from './server.ts';

const env = loadOrExit(() => loadGatewayEnv());
const logger = createLogger({
  name: 'gateway',
  level: env.LOG_LEVEL,
  pretty: env.NODE_ENV === 'development',
});
const startedAt = performance.now();
const gateway = await createGateway({ ...gatewayOptionsFromEnv(env), logger });
logger.info(
  { url: gateway.url, wsUrl: gateway.wsUrl, startupMs: Math.round(performance.now() - startedAt) },
  `Courier gateway listening on ${gateway.url}`,
);

drainOnSignals(logger, gateway, {
  drainDelayMs: env.SHUTDOWN_DRAIN_DELAY_MS,
  timeoutMs: env.SHUTDOWN_TIMEOUT_MS,
});
