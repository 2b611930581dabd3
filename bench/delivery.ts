import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg } from 'node:os';
import {
  combinedAccessKey,
  multiRecipientPayload,
  registerTestAccount,
  spawnSubgraphProcess,
  startPlatform,
  type Platform,
  type SubgraphProcess,
  type TestAccount,
} from '@courier/testing';
import {
  GraphQLBoolean,
  GraphQLFloat,
  GraphQLInt,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  execute,
  parse,
  validate,
  type DocumentNode,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type {
  ChildMessage,
  Endpoint,
  ModeSetup,
  ParentMessage,
  PhaseResult,
  Transport,
} from './delivery-generator.ts';
import { writeResults } from './load.ts';
import { AccountsClient } from '@courier/server';

/**
 * Envelope delivery, open loop (issue 5): send → receive latency and the highest sustained
 * durable rate, through the gateway, with two baselines in the same run, interleaved rate by
 * rate so that the machine's load (shared, 2 cores) hits all of them alike:
 *
 * - `gateway`: identified `sendMessage` to one device over HTTP through the gateway, received on
 *   `Subscription.envelopes` through the gateway (graphql-ws), acknowledged in batches;
 * - `split`: the same as `gateway` with the messages subgraph in a process of its own (as
 *   deployed: the gateway and the other subgraphs stay in this process); its CPU is added to the
 *   platform's;
 * - `sealed`: the same as sealed-sender sends (access key, no token) through the gateway: no
 *   block check and no delivery receipts, as most of Signal's 1:1 traffic;
 * - `direct`: the same as `gateway`, straight to the messages subgraph (router secret), other devices;
 * - `echo`: a bare graphql-js HTTP mutation publishing into a bare graphql-ws subscription in
 *   this process: the transport's floor, with no gateway, database or Redis;
 * - `multi`: sealed-sender `sendMultiRecipientMessage` through the gateway to many devices,
 *   counting envelopes delivered per second;
 * - `socket`, `socket-sealed`, `multi-socket`: `gateway`, `sealed` and `multi` with every
 *   mutation over graphql-ws instead of HTTP, as Signal's clients send over their WebSocket:
 *   each identified sender sends on its own authenticated graphql-ws connection to the gateway
 *   (sealed-sender and multi-recipient sends spread over as many unauthenticated connections),
 *   and each receiving device acknowledges over the connection its subscription runs on. Their
 *   own accounts, and the same scheduling, batching and accounting as the HTTP modes;
 * - `split-socket`, `multi-split`: `socket` and `multi-socket` on the deployment shape of
 *   `split` (messages in its own process, behind its own gateway).
 *
 * The platform (gateway + subgraphs, real PostgreSQL and Redis) runs in this process; the load
 * generator (senders and every receiving device) runs in a child process
 * (`delivery-generator.ts`), whose CPU is measured and reported. Prints a table and writes
 * `bench/results/delivery.json`.
 *
 * Environment: `BENCH_RATES` (sends/s, comma separated), `BENCH_DURATION_MS` per phase,
 * `BENCH_SENDERS`, `BENCH_RECEIVERS` (per single-device mode), `BENCH_MULTI_ACCOUNTS`,
 * `BENCH_MULTI_RATES` (multi-recipient sends/s), `BENCH_MODES` (subset of
 * gateway,socket,split,split-socket,sealed,socket-sealed,direct,echo,multi,multi-socket,
 * multi-split), `BENCH_CPU_PROFILE` (a path prefix: each phase's CPU profile of this process,
 * and the split messages process's whole-run profile in `<prefix>-messages/`). Above 500/s (the
 * latency target's rate), a mode stops climbing after two rates in a row that it did not
 * sustain; a multi-recipient mode stops after two (the machine is shared: overload only slows
 * everyone down).
 *
 * Targets: single-device on the best of the gateway paths (`gateway`, `socket`, `split`,
 * `split-socket`), multi-recipient on the best of the multi modes; `targets.metBy` names the mode.
 */
const list = (name: string, fallback: string) =>
  (process.env[name] ?? fallback).split(',').map(Number).filter(Number.isFinite);
const RATES = list('BENCH_RATES', '100,250,500,1000,1500,2000');
const DURATION_MS = Number(process.env['BENCH_DURATION_MS'] ?? 10_000);
const GRACE_MS = Number(process.env['BENCH_GRACE_MS'] ?? 10_000);
const SENDERS = Number(process.env['BENCH_SENDERS'] ?? 40);
const RECEIVERS = Number(process.env['BENCH_RECEIVERS'] ?? 40);
const MULTI_ACCOUNTS = Number(process.env['BENCH_MULTI_ACCOUNTS'] ?? 250);
const MULTI_RATES = list('BENCH_MULTI_RATES', '2,5,10,20,40,50,60');
/** Single-device modes, in the order each rate runs them. */
const SINGLE_MODES = [
  'gateway',
  'socket',
  'split',
  'split-socket',
  'sealed',
  'socket-sealed',
  'direct',
  'echo',
] as const;
/** Multi-recipient modes, in the order each rate runs them. */
const MULTI_MODES = ['multi', 'multi-socket', 'multi-split'] as const;
const MODES = new Set(
  (process.env['BENCH_MODES'] ?? [...SINGLE_MODES, ...MULTI_MODES].join(',')).split(','),
);
const CONTENT_BYTES = 180;
/** A phase is sustained when everything arrives and p99 stays under this (no growing queue). */
const SUSTAINED_P99_MS = 500;

/** CPU time (user + system) of another process so far, in ms, from `/proc/<pid>/stat`. */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

/** Busy and total jiffies of every core, from /proc/stat (the whole machine's load). */
function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3]! + fields[4]!;
  const total = fields.reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

/** An in-memory channel per receiver id, as an async iterator for graphql-ws. */
class EchoChannels {
  readonly #listeners = new Map<number, (event: unknown) => void>();

  publish(id: number, event: unknown): boolean {
    const listener = this.#listeners.get(id);
    listener?.(event);
    return listener !== undefined;
  }

  iterate(id: number): AsyncIterableIterator<unknown> {
    const queue: unknown[] = [{ timestamp: -1, content: '' }];
    let waiting: ((result: IteratorResult<unknown>) => void) | undefined;
    let done = false;
    this.#listeners.set(id, (event) => {
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve({ value: event, done: false });
      } else queue.push(event);
    });
    const iterator: AsyncIterableIterator<unknown> = {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift(), done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (waiting = resolve));
      },
      return: () => {
        done = true;
        this.#listeners.delete(id);
        waiting?.({ value: undefined, done: true });
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}

/**
 * The bare floor: graphql-js over plain `node:http` for the mutation, graphql-ws over `ws` for
 * the subscription, an in-memory channel between them. Parsed documents are cached, as Apollo
 * Server and Hive Gateway do.
 */
async function startEchoServer(): Promise<{ endpoint: Endpoint; close(): Promise<void> }> {
  const channels = new EchoChannels();
  const Echo = new GraphQLObjectType({
    name: 'Echo',
    fields: { timestamp: { type: GraphQLFloat }, content: { type: GraphQLString } },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: { ok: { type: GraphQLBoolean, resolve: () => true } },
    }),
    mutation: new GraphQLObjectType({
      name: 'Mutation',
      fields: {
        echo: {
          type: GraphQLBoolean,
          args: {
            to: { type: new GraphQLNonNull(GraphQLInt) },
            timestamp: { type: new GraphQLNonNull(GraphQLFloat) },
            content: { type: new GraphQLNonNull(GraphQLString) },
          },
          resolve: (_source, args: { to: number; timestamp: number; content: string }) =>
            channels.publish(args.to, { timestamp: args.timestamp, content: args.content }),
        },
      },
    }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        echoes: {
          type: Echo,
          args: { id: { type: new GraphQLNonNull(GraphQLInt) } },
          subscribe: (_source, args: { id: number }) => channels.iterate(args.id),
          resolve: (event: unknown) => event,
        },
      },
    }),
  });
  const documents = new Map<string, DocumentNode>();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const { query, variables } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          query: string;
          variables?: Record<string, unknown>;
        };
        let document = documents.get(query);
        if (!document) {
          document = parse(query);
          const errors = validate(schema, document);
          if (errors.length > 0) throw new Error(errors[0]!.message);
          documents.set(query, document);
        }
        const result = await execute({
          schema,
          document,
          ...(variables ? { variableValues: variables } : {}),
        });
        const body = JSON.stringify(result);
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        });
        res.end(body);
      })().catch((error: unknown) => {
        res.writeHead(400).end(JSON.stringify({ errors: [{ message: String(error) }] }));
      });
    });
  };
  const http = createServer(handle);
  const wss = new WebSocketServer({ server: http, path: '/graphql' });
  const cleanup = useServer({ schema }, wss);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    endpoint: {
      httpUrl: `http://127.0.0.1:${port}/graphql`,
      wsUrl: `ws://127.0.0.1:${port}/graphql`,
      headers: {},
      wsParams: {},
    },
    async close() {
      await cleanup.dispose();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Registers `count` accounts, a few at a time. */
async function registerMany(platform: Platform, count: number, prefix: string) {
  const accounts: TestAccount[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let i = next++; i < count; i = next++) {
        accounts[i] = await registerTestAccount(
          platform,
          `+1${prefix}${String(i).padStart(5, '0')}`,
        );
      }
    }),
  );
  return accounts;
}

function receiversOf(accounts: readonly TestAccount[]) {
  return accounts.map((account) => ({
    token: account.token,
    aci: account.aci,
    deviceId: 1,
    registrationId: account.aciIdentity.registrationId,
  }));
}

/**
 * CPU and wall time per call of the pieces of an identified send, in this process, closed loop
 * (warm-up first): the block check (the exact-pair route of accounts' internal API, which every
 * identified send called before block lists were cached, and `AccountsClient.isBlocked` as sends
 * call it now: a version-token read in Redis and the cached list), the `messages` bucket, one bus publish, and the outbox's store-then-publish of one
 * envelope alone (concurrency 1: one insert per send) and with 32 concurrent sends (group
 * commit: one insert for many).
 */
async function measureComponents(platform: Platform, a: TestAccount, b: TestAccount) {
  const measure = async (
    count: number,
    concurrency: number,
    operation: (i: number) => Promise<unknown>,
  ) => {
    for (let i = 0; i < 50; i++) await operation(-1 - i);
    const cpu = process.cpuUsage();
    const wall = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < count; i = next++) await operation(i);
      }),
    );
    const used = process.cpuUsage(cpu);
    return {
      cpuMsPerCall: Number(((used.user + used.system) / 1000 / count).toFixed(3)),
      wallMsPerCall: Number(((performance.now() - wall) / count).toFixed(3)),
    };
  };
  const origin = platform.subgraphs.accounts.url.replace(/\/graphql$/, '');
  const blocksUrl = `${origin}/internal/blocks/${b.aci}/${a.aci}`;
  const cachedBlocks = new AccountsClient(platform.subgraphs.accounts.url, platform.routerSecret, {
    blockListVersions: platform.runtime.blockListVersions,
  });
  const outbox = platform.messages[0]!.outbox;
  const envelope = (i: number) => [
    {
      destinationAci: b.aci,
      destinationDeviceId: 99,
      fields: { type: 1, clientTimestamp: i, content: new Uint8Array(CONTENT_BYTES) },
    },
  ];
  const result = {
    blockCheckInternalApi: await measure(1000, 10, async () => {
      const response = await fetch(blocksUrl, {
        headers: { 'x-router-secret': platform.routerSecret },
      });
      await response.json();
    }),
    blockCheckCached: await measure(1000, 10, () => cachedBlocks.isBlocked(b.aci, a.aci)),
    messagesBucket: await measure(1000, 10, (i) =>
      platform.runtime.limits.consume('messages', `bench${i}__components`),
    ),
    busPublish: await measure(1000, 10, () =>
      platform.runtime.bus.publish('bench:components', new Uint8Array(CONTENT_BYTES)),
    ),
    outboxEnqueueAlone: await measure(300, 1, (i) => outbox.enqueue(envelope(i), false)),
    outboxEnqueue32Concurrent: await measure(2000, 32, (i) => outbox.enqueue(envelope(i), false)),
  };
  console.log('send-path components (ms per call):', JSON.stringify(result));
  return result;
}

/** The generator child: ask it something, await its answer. */
function startGenerator() {
  const child = fork(new URL('./delivery-generator.ts', import.meta.url), {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let waiting: ((message: ChildMessage) => void) | undefined;
  child.on('message', (message: ChildMessage) => waiting?.(message));
  const ask = (message: ParentMessage) =>
    new Promise<ChildMessage>((resolve, reject) => {
      waiting = (answer) => {
        waiting = undefined;
        if (answer.type === 'error') reject(new Error(`generator: ${answer.message}`));
        else resolve(answer);
      };
      child.send(message);
    });
  return {
    ask,
    stop: () => {
      child.send({ type: 'stop' } satisfies ParentMessage);
    },
  };
}

/** A phase's result with the platform process's and the machine's load over it. */
interface PhaseRecord extends PhaseResult {
  /** This process (gateway + every subgraph + the idle echo server), % of one core. */
  readonly platformCpuPercent: number;
  /** Every core of the machine (platform, generator, PostgreSQL, Redis, other users), %. */
  readonly machineBusyPercent: number;
  /**
   * CPU time of this process per envelope (of every accepted send: the phase's CPU includes
   * draining its backlog), ms; steadier than latency on a busy machine.
   */
  readonly platformCpuMsPerEnvelope: number;
  readonly sustained: boolean;
}

function sustained(result: PhaseResult): boolean {
  return (
    result.complete &&
    result.deliveryLatencyMs.p99 <= SUSTAINED_P99_MS &&
    (result.mode === 'echo' || result.acked === result.delivered)
  );
}

function printRow(record: PhaseRecord, unit: string) {
  const l = record.deliveryLatencyMs;
  console.log(
    `${record.mode.padEnd(13)} ${String(record.offeredRate).padStart(5)} ${unit} offered  ` +
      `accepted ${record.accepted}/${record.sent} delivered ${record.delivered}/${record.expected} ` +
      `acked ${record.acked}  ${record.deliveredPerSecond} env/s  ` +
      `p50 ${l.p50} p95 ${l.p95} p99 ${l.p99} max ${l.max} ms  send p99 ${record.sendLatencyMs.p99} ms  ` +
      `cpu gen ${record.generatorCpuPercent}% platform ${record.platformCpuPercent}% ` +
      `(${record.platformCpuMsPerEnvelope} ms/env) machine ${record.machineBusyPercent}%` +
      `${record.errors ? `  errors ${JSON.stringify(record.errorCodes)}` : ''}` +
      `${record.sustained ? '' : '  NOT SUSTAINED'}`,
  );
}

const started = Date.now();
const loadBefore = loadavg();
const platform = await startPlatform();
let splitMessages: SubgraphProcess | undefined;
const echo = await startEchoServer();
const generator = startGenerator();
const records: PhaseRecord[] = [];
try {
  const gatewayEndpoint: Endpoint = {
    httpUrl: platform.gatewayUrl,
    wsUrl: platform.gatewayWsUrl,
    headers: {},
    wsParams: {},
  };
  const messagesUrl = platform.subgraphs.messages.url;
  const directEndpoint: Endpoint = {
    httpUrl: messagesUrl,
    wsUrl: messagesUrl.replace(/^http/, 'ws'),
    headers: { 'x-router-secret': platform.routerSecret },
    wsParams: { routerSecret: platform.routerSecret },
  };
  console.log('registering accounts…');
  const senders = await registerMany(platform, SENDERS, '41555');
  const modes: Record<string, ModeSetup> = {};
  const single = (
    endpoint: Endpoint,
    receivers: readonly TestAccount[],
    transport: Transport = 'http',
  ): ModeSetup => ({
    kind: 'single',
    endpoint,
    transport,
    senderTokens: senders.map((account) => account.token),
    receivers: receiversOf(receivers),
    contentBytes: CONTENT_BYTES,
  });
  const sealed = (receivers: readonly TestAccount[], transport: Transport): ModeSetup => ({
    kind: 'sealed',
    endpoint: gatewayEndpoint,
    transport,
    senderSockets: SENDERS,
    accessKeys: receivers.map((account) =>
      Buffer.from(account.unidentifiedAccessKey).toString('base64'),
    ),
    receivers: receiversOf(receivers),
    contentBytes: CONTENT_BYTES,
  });
  const multi = async (
    prefix: string,
    transport: Transport,
    endpoint: Endpoint = gatewayEndpoint,
  ): Promise<ModeSetup> => {
    const recipients = await registerMany(platform, MULTI_ACCOUNTS, prefix);
    console.log(`encrypting a multi-recipient payload for ${recipients.length} devices…`);
    const payload = await multiRecipientPayload(
      platform.gatewayUrl,
      senders[0]!,
      recipients.map((recipient) => recipient.aci),
      new Uint8Array(Buffer.alloc(CONTENT_BYTES, 7)),
    );
    const accessKey = combinedAccessKey(recipients.map((r) => r.unidentifiedAccessKey));
    return {
      kind: 'multi',
      endpoint,
      transport,
      senderSockets: SENDERS,
      payload: Buffer.from(payload).toString('base64'),
      accessKey: Buffer.from(accessKey).toString('base64'),
      receivers: receiversOf(recipients),
    };
  };
  if (MODES.has('gateway')) {
    modes['gateway'] = single(gatewayEndpoint, await registerMany(platform, RECEIVERS, '41556'));
  }
  if (MODES.has('socket')) {
    modes['socket'] = single(
      gatewayEndpoint,
      await registerMany(platform, RECEIVERS, '41561'),
      'socket',
    );
  }
  if (MODES.has('sealed')) {
    modes['sealed'] = sealed(await registerMany(platform, RECEIVERS, '41559'), 'http');
  }
  if (MODES.has('socket-sealed')) {
    modes['socket-sealed'] = sealed(await registerMany(platform, RECEIVERS, '41562'), 'socket');
  }
  /** The deployment-shaped platform: messages in a process of its own behind a second gateway. */
  let splitEndpoint: Endpoint | undefined;
  const split = async (): Promise<Endpoint> => {
    if (!splitEndpoint) {
      const profile = process.env['BENCH_CPU_PROFILE'];
      splitMessages = await spawnSubgraphProcess('messages', platform.processEnv(), {
        nodeArgs: profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}-messages`] : [],
      });
      const splitGateway = await platform.startGateway(splitMessages.url);
      splitEndpoint = {
        httpUrl: splitGateway.url,
        wsUrl: splitGateway.wsUrl,
        headers: {},
        wsParams: {},
      };
    }
    return splitEndpoint;
  };
  if (MODES.has('split')) {
    modes['split'] = single(await split(), await registerMany(platform, RECEIVERS, '41560'));
  }
  if (MODES.has('split-socket')) {
    modes['split-socket'] = single(
      await split(),
      await registerMany(platform, RECEIVERS, '41564'),
      'socket',
    );
  }
  if (MODES.has('direct')) {
    modes['direct'] = single(directEndpoint, await registerMany(platform, RECEIVERS, '41557'));
  }
  if (MODES.has('echo')) {
    modes['echo'] = {
      kind: 'echo',
      endpoint: echo.endpoint,
      receivers: RECEIVERS,
      contentBytes: CONTENT_BYTES,
    };
  }
  if (MODES.has('multi')) modes['multi'] = await multi('41558', 'http');
  if (MODES.has('multi-socket')) modes['multi-socket'] = await multi('41563', 'socket');
  if (MODES.has('multi-split')) {
    modes['multi-split'] = await multi('41565', 'socket', await split());
  }
  const components = await measureComponents(platform, senders[0]!, senders[1]!);
  console.log(
    `setup done in ${Math.round((Date.now() - started) / 1000)} s; opening subscriptions…`,
  );
  await generator.ask({ type: 'setup', modes });
  let phaseIndex = 0;
  const failedInARow = (mode: string) => {
    let count = 0;
    for (const record of records.filter((r) => r.mode === mode).reverse()) {
      if (record.sustained) break;
      count++;
    }
    return count;
  };
  /** Modes whose messages subgraph runs in the child process (its CPU counts as the platform's). */
  const usesSplit = (mode: string) =>
    mode === 'split' || mode === 'split-socket' || mode === 'multi-split';
  const runPhase = async (mode: string, rate: number, unit: string) => {
    const profiler = process.env['BENCH_CPU_PROFILE'] ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const cpuBefore = process.cpuUsage();
    const childCpuBefore = usesSplit(mode) ? processCpuMs(splitMessages?.child.pid) : 0;
    const ticksBefore = machineTicks();
    const wallBefore = performance.now();
    const answer = await generator.ask({
      type: 'phase',
      mode,
      rate,
      durationMs: DURATION_MS,
      graceMs: GRACE_MS,
      timestampBase: 1_700_000_000_000 + ++phaseIndex * 10_000_000,
    });
    if (answer.type !== 'result') throw new Error('unexpected generator answer');
    const cpu = process.cpuUsage(cpuBefore);
    const childCpuMs = usesSplit(mode)
      ? processCpuMs(splitMessages?.child.pid) - childCpuBefore
      : 0;
    const ticks = machineTicks();
    const wallMs = performance.now() - wallBefore;
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      await writeFile(
        `${process.env['BENCH_CPU_PROFILE']}-${mode}-${rate}.cpuprofile`,
        JSON.stringify(profile),
      );
      profiler.disconnect();
    }
    const record: PhaseRecord = {
      ...answer.result,
      platformCpuPercent: Math.round(
        (((cpu.user + cpu.system) / 1000 + childCpuMs) / wallMs) * 100,
      ),
      machineBusyPercent: Math.round(
        ((ticks.busy - ticksBefore.busy) / (ticks.total - ticksBefore.total)) * 100,
      ),
      platformCpuMsPerEnvelope: Number(
        (
          ((cpu.user + cpu.system) / 1000 + childCpuMs) /
          Math.max(1, answer.result.delivered, answer.result.expected)
        ).toFixed(3),
      ),
      sustained: sustained(answer.result),
    };
    records.push(record);
    printRow(record, unit);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  };
  for (const rate of RATES) {
    for (const mode of SINGLE_MODES) {
      if (!modes[mode]) continue;
      if (rate > 500 && failedInARow(mode) >= 2) {
        console.log(
          `${mode.padEnd(13)} ${String(rate).padStart(5)} sends/s skipped (not sustained at two lower rates)`,
        );
        continue;
      }
      await runPhase(mode, rate, 'sends/s');
    }
  }
  for (const rate of MULTI_RATES) {
    for (const mode of MULTI_MODES) {
      if (!modes[mode] || failedInARow(mode) >= 2) continue;
      await runPhase(mode, rate, 'sends/s');
    }
  }

  const rows = (mode: string) => records.filter((record) => record.mode === mode);
  /** The largest `figure` among `mode`'s sustained phases (0 when none was sustained). */
  const maxSustained = (mode: string, figure: (record: PhaseRecord) => number) =>
    Math.max(
      0,
      ...rows(mode)
        .filter((record) => record.sustained)
        .map(figure),
    );
  const highest = (mode: string) => maxSustained(mode, (record) => record.offeredRate);
  const highestDelivered = (mode: string) =>
    maxSustained(mode, (record) => record.deliveredPerSecond);
  const at = (mode: string, rate: number) => rows(mode).find((r) => r.offeredRate === rate);
  // A percentile of no samples is NaN in the generator and arrives as null over IPC.
  const ratio = (a: number | undefined, b: number | undefined) =>
    !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? null : Number((a! / b!).toFixed(3));
  /** `a`'s figure over `b`'s at `rate`, for a figure of a phase record. */
  const ratioAt =
    (figure: (record: PhaseRecord) => number | undefined) =>
    (a: string, b: string, rate: number) => {
      const [x, y] = [at(a, rate), at(b, rate)];
      return ratio(x && figure(x), y && figure(y));
    };
  const cpuRatio = ratioAt((record) => record.platformCpuMsPerEnvelope);
  const p50Ratio = ratioAt((record) => record.deliveryLatencyMs.p50);
  const p99Ratio = ratioAt((record) => record.deliveryLatencyMs.p99);
  /** `{ mode: value }` for every mode of `list`, in order. */
  const perMode = <T>(list: readonly string[], value: (mode: string) => T) =>
    Object.fromEntries(list.map((mode) => [mode, value(mode)])) as Record<string, T>;
  /** Latency and platform CPU of every mode of `list` at `rate`. */
  const figuresAt = (list: readonly string[], rate: number) => ({
    p50ms: perMode(list, (mode) => at(mode, rate)?.deliveryLatencyMs.p50),
    p99ms: perMode(list, (mode) => at(mode, rate)?.deliveryLatencyMs.p99),
    platformCpuMsPerEnvelope: perMode(list, (mode) => at(mode, rate)?.platformCpuMsPerEnvelope),
  });
  const multiSummary = (mode: string) => {
    const setup = modes[mode];
    return {
      devicesPerSend: setup?.kind === 'multi' ? setup.receivers.length : 0,
      highestSustainedSendsPerSecond: highest(mode),
      highestDeliveredEnvelopesPerSecond: highestDelivered(mode),
    };
  };
  const summary = {
    highestSustainedSendsPerSecond: perMode(SINGLE_MODES, highest),
    multiRecipient: multiSummary('multi'),
    /** `multi` with sends and acknowledgements over graphql-ws. */
    multiRecipientSocket: multiSummary('multi-socket'),
    /** `multi-socket` with the messages subgraph in a process of its own. */
    multiRecipientSplit: multiSummary('multi-split'),
    byRate: RATES.map((rate) => ({
      rate,
      ...figuresAt(SINGLE_MODES, rate),
      cpuPerEnvelopeGatewayToDirect: cpuRatio('gateway', 'direct', rate),
      p99GatewayToDirect: p99Ratio('gateway', 'direct', rate),
      p99GatewayToEcho: p99Ratio('gateway', 'echo', rate),
      cpuPerEnvelopeSocketToGateway: cpuRatio('socket', 'gateway', rate),
      p50SocketToGateway: p50Ratio('socket', 'gateway', rate),
      p99SocketToGateway: p99Ratio('socket', 'gateway', rate),
      cpuPerEnvelopeSplitSocketToSplit: cpuRatio('split-socket', 'split', rate),
      cpuPerEnvelopeSplitSocketToDirect: cpuRatio('split-socket', 'direct', rate),
      cpuPerEnvelopeSocketSealedToSealed: cpuRatio('socket-sealed', 'sealed', rate),
    })),
    multiRecipientByRate: MULTI_RATES.map((rate) => ({
      rate,
      deliveredPerSecond: perMode(MULTI_MODES, (mode) => at(mode, rate)?.deliveredPerSecond),
      ...figuresAt(MULTI_MODES, rate),
      cpuPerEnvelopeSocketToHttp: cpuRatio('multi-socket', 'multi', rate),
      p99SocketToHttp: p99Ratio('multi-socket', 'multi', rate),
    })),
    ratios: {
      sustainedGatewayToDirect: ratio(highest('gateway'), highest('direct')),
      sustainedGatewayToEcho: ratio(highest('gateway'), highest('echo')),
      sustainedSocketToGateway: ratio(highest('socket'), highest('gateway')),
      sustainedSplitSocketToSplit: ratio(highest('split-socket'), highest('split')),
      sustainedSplitSocketToDirect: ratio(highest('split-socket'), highest('direct')),
      sustainedSplitSocketToEcho: ratio(highest('split-socket'), highest('echo')),
      sustainedSocketSealedToSealed: ratio(highest('socket-sealed'), highest('sealed')),
      deliveredMultiSocketToMulti: ratio(
        highestDelivered('multi-socket'),
        highestDelivered('multi'),
      ),
    },
  };
  /** The mode of `candidates` (that ran) scoring best, and its score. */
  const best = (
    candidates: readonly string[],
    score: (mode: string) => number,
    better: (a: number, b: number) => boolean,
  ) => {
    let found: { mode: string; value: number } | null = null;
    for (const mode of candidates) {
      if (!modes[mode]) continue;
      const value = score(mode);
      if (found === null || better(value, found.value)) found = { mode, value };
    }
    return found;
  };
  /** Single-device targets: the gateway paths (HTTP, graphql-ws, messages in its own process). */
  const gatewayModes = ['gateway', 'socket', 'split', 'split-socket'];
  const bestSustained = best(gatewayModes, highest, (a, b) => a > b);
  const bestP99At500 = best(
    gatewayModes,
    (mode) => at(mode, 500)?.deliveryLatencyMs.p99 ?? Infinity,
    (a, b) => a < b,
  );
  const bestMulti = best(MULTI_MODES, highestDelivered, (a, b) => a > b);
  const met = {
    gatewaySustained1000: (bestSustained?.value ?? 0) >= 1000,
    gatewayP99At500Under50ms: (bestP99At500?.value ?? Infinity) <= 50,
    multiRecipientDelivered10000: (bestMulti?.value ?? 0) >= 10_000,
  };
  const targets = {
    ...met,
    /** The mode that met each target (the best one), or null when none did. */
    metBy: {
      gatewaySustained1000: met.gatewaySustained1000 ? bestSustained!.mode : null,
      gatewayP99At500Under50ms: met.gatewayP99At500Under50ms ? bestP99At500!.mode : null,
      multiRecipientDelivered10000: met.multiRecipientDelivered10000 ? bestMulti!.mode : null,
    },
    /** The best mode for each target and its value, met or not. */
    best: {
      gatewaySustainedSendsPerSecond: bestSustained,
      gatewayP99At500ms: bestP99At500 && Number.isFinite(bestP99At500.value) ? bestP99At500 : null,
      multiRecipientDeliveredEnvelopesPerSecond: bestMulti,
    },
  };
  console.log(JSON.stringify({ summary, targets }, null, 2));
  await writeResults('delivery', {
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      node: process.version,
      loadAverageBefore: loadBefore.map((value) => Number(value.toFixed(2))),
      loadAverageAfter: loadavg().map((value) => Number(value.toFixed(2))),
      note:
        'One machine for everything: this process runs the gateway and the five subgraphs (in ' +
        'split, split-socket and multi-split the messages subgraph runs in a child process behind ' +
        "a gateway of its own, and its CPU counts as the platform's); the " +
        'generator (senders and every receiving device) is a child process; PostgreSQL and Redis ' +
        'are the shared local servers; other people run tests on the same 2 cores.',
    },
    generator:
      'Own open-loop generator in a child process (delivery-generator.ts), not autocannon: ' +
      'autocannon paces requests per connection (closed loop, coordinated omission) and cannot ' +
      'time the subscription side. The child holds every sender and receiving device, issues ' +
      'sends on a fixed schedule over a keep-alive pool (256 sockets), times scheduled send → ' +
      'arrival, and acknowledges in batches of 50 (or every 50 ms); its CPU per phase is ' +
      'generatorCpuPercent (% of one core). The socket modes (socket, socket-sealed, ' +
      'multi-socket) send the same mutations over graphql-ws instead: one connection per ' +
      'sender (authenticated for identified sends, unauthenticated for sealed and ' +
      'multi-recipient ones), acknowledgements over each receiving device’s subscription ' +
      'connection.',
    sendPath:
      'EnvelopeOutbox group commit (at most 2 inserts in flight; sends arriving meanwhile share ' +
      'the next unnest insert, each caller still awaits its own commit) and ioredis ' +
      'auto-pipelining on the bus publisher; see sendPathComponents for the per-call costs.',
    settings: {
      durationMs: DURATION_MS,
      graceMs: GRACE_MS,
      senders: SENDERS,
      receiversPerMode: RECEIVERS,
      contentBytes: CONTENT_BYTES,
      sustainedMeans: `every send accepted, every envelope delivered within the grace period and acknowledged, p99 <= ${SUSTAINED_P99_MS} ms`,
      rateLimits:
        'defaults (messages bucket on Redis): traffic is spread over senders × receivers pairs so no pair exceeds its bucket; RATE_LIMITED answers would be counted as errors',
    },
    summary,
    targets,
    sendPathComponents: components,
    phases: records,
  });
} finally {
  generator.stop();
  await echo.close();
  await splitMessages?.stop();
  await platform.stop();
}
