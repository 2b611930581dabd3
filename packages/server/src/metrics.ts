import type { ApolloServerPlugin } from '@apollo/server';
import type { Redis } from 'ioredis';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NextFunction, Request, Response } from 'express';
import { metricsAccessAllowed, type MetricsAccess } from '@courier/config';
import type { DatabasePoolStats } from '@courier/db';
import {
  DURATION_BUCKETS,
  errorCodeLabel,
  operationLabel,
  ROUTER_SECRET_HEADER,
} from '@courier/schema';

/**
 * Prometheus metrics of a subgraph process, in one registry per process (every subgraph a
 * process hosts, in embedded mode all five, shares it; request metrics carry a `subgraph` label).
 *
 * Labels never hold anything about a user: operations are named by the schema's root fields they
 * select (bounded by the schema), never by the client's operation name or variables; errors by
 * their closed `extensions.code`; rate limits by bucket name.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

const registers = [metricsRegistry];

const operationLabels = ['subgraph', 'operation_type', 'operation'] as const;

/** GraphQL operations a subgraph executed (HTTP and graphql-ws). */
export const operationsTotal = new Counter({
  name: 'courier_graphql_operations_total',
  help: 'GraphQL operations executed, by subgraph, operation type and root fields',
  labelNames: operationLabels,
  registers,
});

/** Duration of HTTP GraphQL operations, from request to response. */
export const operationDuration = new Histogram({
  name: 'courier_graphql_operation_duration_seconds',
  help: 'Duration of GraphQL operations over HTTP, by subgraph, operation type and root fields',
  labelNames: operationLabels,
  buckets: DURATION_BUCKETS,
  registers,
});

/** Errors in GraphQL responses, by `extensions.code`. */
export const operationErrors = new Counter({
  name: 'courier_graphql_errors_total',
  help: 'Errors in GraphQL responses, by subgraph, operation type, root fields and error code',
  labelNames: [...operationLabels, 'code'],
  registers,
});

/** Subscriptions currently open on graphql-ws. */
export const subscriptionsOpen = new Gauge({
  name: 'courier_subscriptions_open',
  help: 'GraphQL subscriptions currently open on this process, by subgraph',
  labelNames: ['subgraph'],
  registers,
});

/**
 * Gateway trunks (one WebSocket per gateway carrying many clients' graphql-ws connections, see
 * `@courier/schema`'s trunk codec) open on this process, and the client connections they carry.
 */
export const trunkMetrics = {
  trunks: new Gauge({
    name: 'courier_trunks_open',
    help: 'Gateway trunks currently open on this process, by subgraph',
    labelNames: ['subgraph'],
    registers,
  }),
  channels: new Gauge({
    name: 'courier_trunk_channels_open',
    help: 'Client graphql-ws connections currently carried by gateway trunks, by subgraph',
    labelNames: ['subgraph'],
    registers,
  }),
} as const;

/** Rate-limit refusals, by bucket. */
export const rateLimitRejections = new Counter({
  name: 'courier_rate_limit_rejections_total',
  help: 'Requests refused by a rate-limit bucket',
  labelNames: ['bucket'],
  registers,
});

const envelopeEvents = new Counter({
  name: 'courier_envelopes_total',
  help: 'Envelopes queued (stored or published), delivered (sent to a device), acknowledged and expired (purged unacknowledged)',
  labelNames: ['event'],
  registers,
});

/**
 * Envelope counters for the messages subgraph, one call per event (`envelopeMetrics.queued.inc(n)`).
 * `queued`: envelopes handed to the outbox (stored, or only published when online-only);
 * `delivered`: envelopes sent to a device (subscription or long poll; redeliveries count again);
 * `acked`: envelopes deleted by acknowledgement; `expired`: envelopes purged unacknowledged.
 */
export const envelopeMetrics = {
  queued: envelopeEvents.labels('queued'),
  delivered: envelopeEvents.labels('delivered'),
  acked: envelopeEvents.labels('acked'),
  expired: envelopeEvents.labels('expired'),
} as const;

const pools = new Set<() => DatabasePoolStats | undefined>();
new Gauge({
  name: 'courier_db_pool_connections',
  help: 'Database pool connections of this process: total, idle, and waiting (queued clients)',
  labelNames: ['state'],
  registers,
  collect() {
    let total = 0;
    let idle = 0;
    let waiting = 0;
    for (const read of pools) {
      const stats = read();
      total += stats?.totalCount ?? 0;
      idle += stats?.idleCount ?? 0;
      waiting += stats?.waitingCount ?? 0;
    }
    this.set({ state: 'total' }, total);
    this.set({ state: 'idle' }, idle);
    this.set({ state: 'waiting' }, waiting);
  },
});

/** Reports a database pool in `courier_db_pool_connections`; returns the unregister function. */
export function observeDatabasePool(stats: () => DatabasePoolStats | undefined): () => void {
  pools.add(stats);
  return () => void pools.delete(stats);
}

const REDIS_STATUSES = ['wait', 'connecting', 'connect', 'ready', 'reconnecting', 'close', 'end'];
const redisClients = new Set<Redis>();
new Gauge({
  name: 'courier_redis_clients',
  help: 'Redis clients of this process by connection status (ready = usable)',
  labelNames: ['status'],
  registers,
  collect() {
    const counts = new Map(REDIS_STATUSES.map((status) => [status, 0]));
    for (const client of redisClients) {
      counts.set(client.status, (counts.get(client.status) ?? 0) + 1);
    }
    for (const [status, count] of counts) this.set({ status }, count);
  },
});

const redisCommands = new Counter({
  name: 'courier_redis_commands_total',
  help: 'Redis commands sent by the clients this process observes, by command name',
  labelNames: ['command'],
  registers,
});

/**
 * Reports a Redis client in `courier_redis_clients` and counts its commands in
 * `courier_redis_commands_total` (by wrapping its `sendCommand`); returns the unregister function.
 */
export function observeRedis(client: Redis): () => void {
  redisClients.add(client);
  const send = client.sendCommand;
  client.sendCommand = function (this: Redis, ...args: Parameters<Redis['sendCommand']>) {
    redisCommands.inc({ command: commandLabel(args[0].name) });
    return send.apply(this, args);
  } as Redis['sendCommand'];
  return () => {
    redisClients.delete(client);
    client.sendCommand = send;
  };
}

function commandLabel(name: string): string {
  return /^[a-z_.-]{1,32}$/i.test(name) ? name.toLowerCase() : 'other';
}

export { DURATION_BUCKETS, errorCodeLabel, operationLabel };

/**
 * Apollo Server plugin recording, per operation, the count, the duration and the errors by code
 * of every HTTP request of the subgraph `subgraph`.
 */
export function metricsPlugin(subgraph: string): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operation, document, response }) {
          const labels = {
            subgraph,
            operation_type: operation?.operation ?? 'unknown',
            operation: operationLabel(operation, document),
          };
          operationsTotal.inc(labels);
          operationDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : [];
          for (const error of errors ?? []) {
            operationErrors.inc({ ...labels, code: errorCodeLabel(error.extensions?.['code']) });
          }
        },
      };
    },
  };
}

export type { MetricsAccess };

/**
 * Whether a scrape may read /metrics: with `Authorization: Bearer <METRICS_TOKEN>` when a token
 * is configured, or with the router secret header (what the gateway sends subgraphs).
 */
export function metricsAuthorized(
  access: MetricsAccess,
  headers: Readonly<Record<string, unknown>>,
): boolean {
  return metricsAccessAllowed(access, headers['authorization'], headers[ROUTER_SECRET_HEADER]);
}

/** Express handler serving {@link metricsRegistry} in the Prometheus text format. */
export function metricsRoute(access: MetricsAccess) {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (!metricsAuthorized(access, req.headers)) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'unauthorized' });
      return;
    }
    try {
      const body = await metricsRegistry.metrics();
      res.set('Content-Type', metricsRegistry.contentType).send(body);
    } catch (error) {
      next(error);
    }
  };
}
