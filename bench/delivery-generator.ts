import { Agent, request } from 'node:http';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/**
 * The load generator of `delivery.ts`, run as a child process so that its CPU is its own (and
 * measured) and the platform's event loop is not shared with it. The parent sends `setup` once
 * (every mode's endpoints, senders and receiving devices), then one `phase` at a time; this
 * process answers `ready` and one `result` per phase.
 *
 * Open loop: send `i` of a phase is due at `start + i / rate` and is issued then whatever the
 * earlier ones are doing (no cap on requests in flight beyond the socket pool, whose queue is
 * part of the measured latency). Latency is from that scheduled time to the envelope's arrival
 * on the receiving device's subscription, so queueing anywhere (generator, gateway, subgraph,
 * database, Redis) counts. Each send's `timestamp` (the envelope's `clientTimestamp`) is the
 * phase's base plus `i`, which identifies it on arrival.
 *
 * Transports (`ModeSetup.transport`): `http` sends every mutation (sends and acknowledgements)
 * as a POST over a keep-alive pool; `socket` sends them over graphql-ws, as Signal's clients do
 * over their one WebSocket: each identified sender has one authenticated graphql-ws connection
 * of its own, sealed-sender and multi-recipient sends spread over `senderSockets`
 * unauthenticated connections (Signal's unidentified socket), and each receiving device
 * acknowledges over the connection its `Subscription.envelopes` runs on. The scheduling, the
 * timing and the accounting are the same for both; only the send's and the acknowledgement's
 * path differs (a mutation over graphql-ws is answered by one `next` and a `complete`).
 */

/** Where one mode sends and subscribes. */
export interface Endpoint {
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** Extra HTTP headers (the router secret when going straight to the subgraph). */
  readonly headers: Readonly<Record<string, string>>;
  /** Extra graphql-ws connection params (likewise). */
  readonly wsParams: Readonly<Record<string, string>>;
}

/** A receiving device. */
export interface ReceiverDevice {
  /** Access token (empty for the echo server). */
  readonly token: string;
  readonly aci: string;
  readonly deviceId: number;
  readonly registrationId: number;
}

/**
 * How a mode's mutations travel: `http` (a POST each, keep-alive pool) or `socket` (graphql-ws:
 * a sender's own connection for sends, the receiving device's subscription connection for
 * acknowledgements). Subscriptions always run over graphql-ws.
 */
export type Transport = 'http' | 'socket';

/**
 * One way of sending and receiving:
 * - `single`: `sendMessage` from a sender to one device of a receiver (identified), received on
 *   `Subscription.envelopes` and acknowledged in batches;
 * - `sealed`: the same as a sealed-sender send (no token, the receiver's access key,
 *   `UNIDENTIFIED_SENDER`): no block check and no delivery receipts on the server;
 * - `multi`: `sendMultiRecipientMessage` with one prepared payload for every receiving device
 *   (sealed sender, combined access key), each send delivering one envelope per device;
 * - `echo`: the bare graphql-ws floor: a mutation on a minimal graphql-js HTTP server publishes
 *   straight into a subscription of a minimal graphql-ws server (no gateway, no database, no
 *   Redis, no acknowledgement).
 *
 * `single`, `sealed` and `multi` run over either {@link Transport} (`delivery.ts` names the
 * graphql-ws ones `socket`, `socket-sealed` and `multi-socket`).
 */
export type ModeSetup =
  | {
      readonly kind: 'single';
      readonly endpoint: Endpoint;
      /** `socket`: one authenticated graphql-ws connection per sender token. */
      readonly transport: Transport;
      readonly senderTokens: readonly string[];
      readonly receivers: readonly ReceiverDevice[];
      readonly contentBytes: number;
    }
  | {
      readonly kind: 'sealed';
      readonly endpoint: Endpoint;
      readonly transport: Transport;
      /** `socket`: how many unauthenticated graphql-ws connections the sends spread over. */
      readonly senderSockets: number;
      /** Each receiver's unidentified access key (base64), by index. */
      readonly accessKeys: readonly string[];
      readonly receivers: readonly ReceiverDevice[];
      readonly contentBytes: number;
    }
  | {
      readonly kind: 'multi';
      readonly endpoint: Endpoint;
      readonly transport: Transport;
      /** `socket`: how many unauthenticated graphql-ws connections the sends spread over. */
      readonly senderSockets: number;
      readonly payload: string;
      readonly accessKey: string;
      readonly receivers: readonly ReceiverDevice[];
    }
  | {
      readonly kind: 'echo';
      readonly endpoint: Endpoint;
      readonly receivers: number;
      readonly contentBytes: number;
    };

export type ParentMessage =
  | { readonly type: 'setup'; readonly modes: Readonly<Record<string, ModeSetup>> }
  | {
      readonly type: 'phase';
      readonly mode: string;
      /** Sends per second. */
      readonly rate: number;
      readonly durationMs: number;
      /** How long to wait for the last envelopes and acknowledgements. */
      readonly graceMs: number;
      /** Unique per phase: the base of the sends' timestamps. */
      readonly timestampBase: number;
    }
  | { readonly type: 'stop' };

/** Percentiles of a latency sample, in ms. */
export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** What one phase measured. */
export interface PhaseResult {
  readonly mode: string;
  readonly offeredRate: number;
  readonly durationMs: number;
  /** Sends issued (requests). */
  readonly sent: number;
  /** Sends answered with success. */
  readonly accepted: number;
  readonly errors: number;
  /** Sends with no answer before the grace period ended. */
  readonly unanswered: number;
  readonly errorCodes: Readonly<Record<string, number>>;
  /** Envelopes expected on subscriptions (accepted sends × devices per send). */
  readonly expected: number;
  /** Envelopes that arrived before the grace period ended. */
  readonly delivered: number;
  /** Envelopes acknowledged (deleted) by the receivers. */
  readonly acked: number;
  /** Sends answered per second over the schedule. */
  readonly acceptedPerSecond: number;
  /** Envelopes delivered per second, from the phase start to the last arrival. */
  readonly deliveredPerSecond: number;
  /** Scheduled send time → arrival on the subscription. */
  readonly deliveryLatencyMs: Percentiles;
  /** Scheduled send time → answer of the send (the envelope is durable then). */
  readonly sendLatencyMs: Percentiles;
  /** How late the generator issued sends against their schedule. */
  readonly scheduleLagMs: Percentiles;
  /** The generator's CPU over the phase, in % of one core. */
  readonly generatorCpuPercent: number;
  /** Whether the schedule was kept: everything accepted and delivered, nothing lost. */
  readonly complete: boolean;
}

export type ChildMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly result: PhaseResult }
  | { readonly type: 'error'; readonly message: string };

const SEND_MESSAGE = `mutation ($d: String!, $i: SendMessageInput!, $a: MessageAccess) {
  sendMessage(destination: $d, input: $i, access: $a) { __typename } }`;
const MULTI_SEND = `mutation ($p: Base64!, $t: Timestamp!, $a: MessageAccess) {
  sendMultiRecipientMessage(payload: $p, timestamp: $t, access: $a) { __typename } }`;
const ECHO_SEND = `mutation ($to: Int!, $t: Float!, $c: String!) { echo(to: $to, timestamp: $t, content: $c) }`;
const ENVELOPES = `subscription { envelopes { __typename ... on Envelope {
  guid clientTimestamp content } } }`;
const ECHOES = `subscription ($id: Int!) { echoes(id: $id) { timestamp content } }`;
const ACKNOWLEDGE = `mutation ($g: [ID!]!) { acknowledgeEnvelopes(guids: $g) }`;
const ACK_BATCH = 50;
/** Longest wait for an overloaded phase's backlog before the next phase. */
const SETTLE_MS = 60_000;
const ACK_INTERVAL_MS = 50;

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

interface Answer {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly { extensions?: { code?: string } }[];
}

function post(
  endpoint: Endpoint,
  token: string,
  query: string,
  variables: unknown,
): Promise<Answer> {
  const body = JSON.stringify({ query, variables });
  const url = new URL(endpoint.httpUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        method: 'POST',
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          accept: 'application/graphql-response+json, application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...endpoint.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Operation ids for graphql-ws: a counter (unique per connection), cheaper than a UUID. */
let operationIds = 0;
const nextOperationId = () => String(++operationIds);

/** A graphql-ws client that connects at once and never retries (a lost socket is an error). */
function connect(endpoint: Endpoint, token: string): Client {
  return createClient({
    url: endpoint.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    generateID: nextOperationId,
    connectionParams: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...endpoint.wsParams,
    },
  });
}

/** Opens one graphql-ws connection per token; resolves once every one is acknowledged. */
async function connectAll(endpoint: Endpoint, tokens: readonly string[]): Promise<Client[]> {
  const clients = tokens.map((token) => connect(endpoint, token));
  await Promise.all(
    clients.map(
      (client) =>
        new Promise<void>((resolve, reject) => {
          const offConnected = client.on('connected', () => {
            offConnected();
            offClosed();
            resolve();
          });
          const offClosed = client.on('closed', (event) => {
            offConnected();
            offClosed();
            reject(new Error(`graphql-ws connection closed: ${describeError(event)}`));
          });
        }),
    ),
  );
  return clients;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  const close = error as { code?: unknown; reason?: unknown } | null;
  if (typeof close?.code === 'number') return `close ${close.code} ${String(close.reason ?? '')}`;
  return JSON.stringify(error);
}

/**
 * One mutation over a graphql-ws connection: the `next` result once `complete` arrives. GraphQL
 * errors the server sends as an `error` message answer like an HTTP `errors` body; a lost
 * connection rejects (counted as a network error).
 */
function operate(client: Client, query: string, variables: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answer: Answer = {};
    client.subscribe(
      { query, variables: variables as Record<string, unknown> },
      {
        next: (result) => {
          answer = result as Answer;
        },
        error: (error) => {
          if (Array.isArray(error)) resolve({ errors: error as Answer['errors'] });
          else reject(new Error(`socket ${describeError(error)}`));
        },
        complete: () => resolve(answer),
      },
    );
  });
}

function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: NaN, p95: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) =>
    Number(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!.toFixed(2));
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: Number(sorted.at(-1)!.toFixed(2)) };
}

/** What a mode's subscriptions report to the running phase. */
interface Arrival {
  (timestamp: number, at: number): void;
}

/** An open mode: subscriptions live, ready to run phases. */
interface OpenMode {
  readonly devicesPerSend: number;
  send(index: number, timestamp: number): Promise<Answer>;
  answerOk(answer: Answer): boolean;
  /** Acknowledges what is pending; resolves when every acknowledgement answered. */
  flushAcks(): Promise<void>;
  acked: number;
  onArrival: Arrival | undefined;
}

function base64Filler(bytes: number): string {
  const filler = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) filler[i] = (i * 131 + 7) & 0xff;
  return filler.toString('base64');
}

/**
 * Opens one subscription per receiver, each on a graphql-ws connection of its own, pushed onto
 * `clients` (by receiver index) as soon as it is created; resolves once every one is live.
 */
async function openSubscriptions(
  endpoint: Endpoint,
  count: number,
  tokenOf: (i: number) => string,
  query: string,
  variablesOf: (i: number) => Record<string, unknown> | undefined,
  onEvent: (receiver: number, data: Record<string, unknown>) => void,
  clients: Client[] = [],
): Promise<Client[]> {
  const ready: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const client = connect(endpoint, tokenOf(i));
    clients.push(client);
    ready.push(
      new Promise<void>((resolve, reject) => {
        const variables = variablesOf(i);
        client.subscribe<Record<string, unknown>>(
          { query, ...(variables ? { variables } : {}) },
          {
            next: (result) => {
              if (result.errors) {
                reject(new Error(JSON.stringify(result.errors)));
                return;
              }
              const data = result.data!;
              // Live from here: `QueueEmpty` on Courier, the echo server's hello (timestamp -1).
              const envelopes = data['envelopes'] as { __typename?: string } | undefined;
              const echo = data['echoes'] as { timestamp?: number } | undefined;
              if (envelopes?.__typename === 'QueueEmpty' || echo?.timestamp === -1) {
                resolve();
                return;
              }
              onEvent(i, data);
            },
            error: (error) =>
              reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
            complete: () => undefined,
          },
        );
      }),
    );
  }
  await Promise.all(ready);
  return clients;
}

async function openMode(setup: ModeSetup): Promise<OpenMode> {
  if (setup.kind === 'echo') {
    const content = base64Filler(setup.contentBytes);
    const mode: OpenMode = {
      devicesPerSend: 1,
      send: (index, timestamp) =>
        post(setup.endpoint, '', ECHO_SEND, {
          to: index % setup.receivers,
          t: timestamp,
          c: content,
        }),
      answerOk: (answer) => answer.data?.['echo'] === true,
      flushAcks: async () => undefined,
      acked: 0,
      onArrival: undefined,
    };
    await openSubscriptions(
      setup.endpoint,
      setup.receivers,
      () => '',
      ECHOES,
      (i) => ({ id: i }),
      (_receiver, data) => {
        const echo = data['echoes'] as { timestamp: number };
        mode.acked++;
        mode.onArrival?.(echo.timestamp, performance.now());
      },
    );
    return mode;
  }
  const receivers = setup.receivers;
  const overSocket = setup.transport === 'socket';
  /** The receivers' subscription connections, by receiver index (`socket` acks use them). */
  const receiverClients: Client[] = [];
  const pending: string[][] = receivers.map(() => []);
  const inFlight = new Set<Promise<void>>();
  const acknowledge = (receiver: number, guids: string[]): Promise<Answer> =>
    overSocket
      ? operate(receiverClients[receiver]!, ACKNOWLEDGE, { g: guids })
      : post(setup.endpoint, receivers[receiver]!.token, ACKNOWLEDGE, { g: guids });
  const ack = (receiver: number) => {
    const guids = pending[receiver]!;
    if (guids.length === 0) return;
    pending[receiver] = [];
    const done = acknowledge(receiver, guids)
      .then((answer) => {
        const count = answer.data?.['acknowledgeEnvelopes'];
        if (typeof count === 'number') mode.acked += count;
      })
      .catch(() => undefined)
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };
  const timer = setInterval(() => receivers.forEach((_, i) => ack(i)), ACK_INTERVAL_MS);
  timer.unref();
  const typename = (answer: Answer, field: string) =>
    (answer.data?.[field] as { __typename?: string } | undefined)?.__typename;
  const oneDevice = (
    receiver: ReceiverDevice,
    timestamp: number,
    type: string,
    content: string,
  ) => ({
    d: receiver.aci,
    i: {
      timestamp,
      messages: [
        { deviceId: receiver.deviceId, registrationId: receiver.registrationId, type, content },
      ],
    },
  });
  let send: OpenMode['send'];
  let answerOk: OpenMode['answerOk'] = (answer) =>
    typename(answer, 'sendMessage') === 'SendMessageSuccess';
  if (setup.kind === 'sealed') {
    const content = base64Filler(setup.contentBytes);
    const variables = (index: number, timestamp: number) => ({
      ...oneDevice(receivers[index % receivers.length]!, timestamp, 'UNIDENTIFIED_SENDER', content),
      a: { unidentifiedAccessKey: setup.accessKeys[index % receivers.length] },
    });
    if (overSocket) {
      const sockets = await connectAll(
        setup.endpoint,
        Array.from({ length: Math.max(1, setup.senderSockets) }, () => ''),
      );
      send = (index, timestamp) =>
        operate(sockets[index % sockets.length]!, SEND_MESSAGE, variables(index, timestamp));
    } else {
      send = (index, timestamp) =>
        post(setup.endpoint, '', SEND_MESSAGE, variables(index, timestamp));
    }
  } else if (setup.kind === 'single') {
    const content = base64Filler(setup.contentBytes);
    const senders = setup.senderTokens.length;
    const sockets = overSocket ? await connectAll(setup.endpoint, setup.senderTokens) : [];
    send = (index, timestamp) => {
      const pair = index % (senders * receivers.length);
      const receiver = receivers[Math.floor(pair / senders)]!;
      const variables = oneDevice(receiver, timestamp, 'CIPHERTEXT', content);
      return overSocket
        ? operate(sockets[pair % senders]!, SEND_MESSAGE, variables)
        : post(setup.endpoint, setup.senderTokens[pair % senders]!, SEND_MESSAGE, variables);
    };
  } else {
    const access = { unidentifiedAccessKey: setup.accessKey };
    if (overSocket) {
      const sockets = await connectAll(
        setup.endpoint,
        Array.from({ length: Math.max(1, setup.senderSockets) }, () => ''),
      );
      send = (index, timestamp) =>
        operate(sockets[index % sockets.length]!, MULTI_SEND, {
          p: setup.payload,
          t: timestamp,
          a: access,
        });
    } else {
      send = (_index, timestamp) =>
        post(setup.endpoint, '', MULTI_SEND, {
          p: setup.payload,
          t: timestamp,
          a: { unidentifiedAccessKey: setup.accessKey },
        });
    }
    answerOk = (answer) =>
      typename(answer, 'sendMultiRecipientMessage') === 'MultiRecipientMessageSuccess';
  }
  const mode: OpenMode = {
    devicesPerSend: setup.kind === 'multi' ? receivers.length : 1,
    send,
    answerOk,
    flushAcks: async () => {
      receivers.forEach((_, i) => ack(i));
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
    acked: 0,
    onArrival: undefined,
  };
  await openSubscriptions(
    setup.endpoint,
    receivers.length,
    (i) => receivers[i]!.token,
    ENVELOPES,
    () => undefined,
    (receiver, data) => {
      const envelope = data['envelopes'] as { guid: string; clientTimestamp: number };
      const guids = pending[receiver]!;
      guids.push(envelope.guid);
      if (guids.length >= ACK_BATCH) ack(receiver);
      mode.onArrival?.(envelope.clientTimestamp, performance.now());
    },
    receiverClients,
  );
  return mode;
}

async function runPhase(
  name: string,
  mode: OpenMode,
  message: Extract<ParentMessage, { type: 'phase' }>,
): Promise<PhaseResult> {
  const total = Math.round((message.rate * message.durationMs) / 1000);
  const scheduled = new Float64Array(total);
  const sendLatencies: number[] = [];
  const deliveryLatencies: number[] = [];
  const lags: number[] = [];
  const errorCodes: Record<string, number> = {};
  let accepted = 0;
  let errors = 0;
  let answered = 0;
  let lastArrival = 0;
  let lastAnswer = 0;
  const ackedBefore = mode.acked;
  const intervalMs = 1000 / message.rate;
  const cpuBefore = process.cpuUsage();
  const start = performance.now() + 20;
  for (let i = 0; i < total; i++) scheduled[i] = start + i * intervalMs;
  let allDelivered: () => void = () => undefined;
  const delivered = new Promise<void>((resolve) => (allDelivered = resolve));
  let expected = Infinity;
  mode.onArrival = (timestamp, at) => {
    const index = timestamp - message.timestampBase;
    if (index < 0 || index >= total) return;
    deliveryLatencies.push(at - scheduled[index]!);
    lastArrival = at;
    if (deliveryLatencies.length >= expected) allDelivered();
  };
  let allAnswered: () => void = () => undefined;
  const answeredAll = new Promise<void>((resolve) => (allAnswered = resolve));
  const issue = (i: number) => {
    const issuedAt = performance.now();
    lags.push(issuedAt - scheduled[i]!);
    mode
      .send(i, message.timestampBase + i)
      .then(
        (answer) => {
          lastAnswer = performance.now();
          sendLatencies.push(lastAnswer - scheduled[i]!);
          if (mode.answerOk(answer)) accepted++;
          else {
            errors++;
            const code = answer.errors?.[0]?.extensions?.code ?? 'UNEXPECTED_RESULT';
            errorCodes[code] = (errorCodes[code] ?? 0) + 1;
          }
        },
        (error: unknown) => {
          errors++;
          const code = error instanceof Error ? error.message.slice(0, 40) : 'NETWORK';
          errorCodes[code] = (errorCodes[code] ?? 0) + 1;
        },
      )
      .finally(() => {
        if (++answered === total) allAnswered();
      });
  };
  await new Promise<void>((resolve) => {
    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < total && scheduled[next]! <= now) issue(next++);
      if (next >= total) resolve();
      else setTimeout(tick, Math.max(0, Math.min(1, scheduled[next]! - performance.now())));
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
  const scheduleEnd = start + message.durationMs;
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, message.graceMs).unref());
  await Promise.race([answeredAll, deadline]);
  expected = accepted * mode.devicesPerSend;
  if (deliveryLatencies.length >= expected) allDelivered();
  await Promise.race([delivered, deadline]);
  mode.onArrival = undefined;
  await Promise.race([mode.flushAcks(), deadline]);
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = performance.now() - start;
  const deliveredCount = deliveryLatencies.length;
  // Let an overloaded phase's backlog drain before the next phase starts (it is not measured):
  // every send answered, arrivals quiet for a moment, every acknowledgement answered.
  const settle = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
  await Promise.race([answeredAll, settle(SETTLE_MS)]);
  await settle(500);
  await Promise.race([mode.flushAcks(), settle(SETTLE_MS)]);
  return {
    mode: name,
    offeredRate: message.rate,
    durationMs: message.durationMs,
    sent: total,
    accepted,
    errors,
    unanswered: total - answered,
    errorCodes,
    expected: accepted * mode.devicesPerSend,
    delivered: deliveredCount,
    acked: mode.acked - ackedBefore,
    acceptedPerSecond:
      accepted === 0
        ? 0
        : Math.round(accepted / (Math.max(lastAnswer - start, scheduleEnd - start) / 1000)),
    deliveredPerSecond:
      deliveredCount === 0 ? 0 : Math.round(deliveredCount / ((lastArrival - start) / 1000)),
    deliveryLatencyMs: percentiles(deliveryLatencies),
    sendLatencyMs: percentiles(sendLatencies),
    scheduleLagMs: percentiles(lags),
    generatorCpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 100),
    complete:
      errors === 0 && answered === total && deliveredCount === accepted * mode.devicesPerSend,
  };
}

const modes = new Map<string, OpenMode>();
const reply = (message: ChildMessage) => process.send!(message);

process.on('message', (message: ParentMessage) => {
  void (async () => {
    try {
      if (message.type === 'setup') {
        for (const [name, setup] of Object.entries(message.modes)) {
          modes.set(name, await openMode(setup));
        }
        reply({ type: 'ready' });
      } else if (message.type === 'phase') {
        const mode = modes.get(message.mode);
        if (!mode) throw new Error(`unknown mode ${message.mode}`);
        reply({ type: 'result', result: await runPhase(message.mode, mode, message) });
      } else {
        process.exit(0);
      }
    } catch (error) {
      reply({
        type: 'error',
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
    }
  })();
});
