import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  Inbox,
  acknowledgeEnvelopes,
  expectData,
  linkTestDevice,
  postGraphQL,
  registerTestAccount,
  sendOpaqueMessage,
  spawnSubgraphProcess,
  startPlatform,
  testRedisUrl,
  type Platform,
  type TestAccount,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SEND = `mutation ($d: String!, $i: SendMessageInput!) {
  sendMessage(destination: $d, input: $i) { __typename } }`;

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** One receiving device and what it has seen (by guid: delivery is at least once). */
interface Receiver {
  readonly token: string;
  readonly seen: Map<string, string>;
  duplicates: number;
}

/**
 * Receives on `wsUrls[0]` until `expected` distinct envelopes arrived; when the stream fails or
 * ends (its instance died), reconnects on the next URL, as a client fails over to another
 * gateway, and drains again.
 */
async function receiveAll(
  receiver: Receiver,
  expected: number,
  wsUrls: readonly string[],
  onEnvelope: () => void = () => undefined,
): Promise<number> {
  let connections = 0;
  while (receiver.seen.size < expected) {
    const inbox = new Inbox(wsUrls[Math.min(connections, wsUrls.length - 1)]!, receiver.token);
    connections++;
    try {
      while (receiver.seen.size < expected) {
        const result = await inbox.nextResult();
        if (!result || result.errors) break;
        const event = result.data!.envelopes;
        if (event.__typename !== 'Envelope') continue;
        if (receiver.seen.has(event.guid)) receiver.duplicates++;
        receiver.seen.set(event.guid, event.content!);
        onEnvelope();
      }
    } catch {
      // The socket failed: reconnect.
    } finally {
      await inbox.close().catch(() => undefined);
    }
  }
  return connections;
}

describe('messages scale-out and failure', () => {
  let platform: Platform;
  let numbers = 0;
  const register = () =>
    registerTestAccount(platform, `+1415558${String(1000 + numbers++).padStart(4, '0')}`);

  /** Registration ids of linked devices, by `<aci>.<deviceId>`. */
  const registrationIds = new Map<string, number>();
  const registrationIdOf = (account: TestAccount, deviceId: number) =>
    deviceId === 1
      ? account.aciIdentity.registrationId
      : registrationIds.get(`${account.aci}.${deviceId}`)!;

  const send = async (
    gatewayUrl: string,
    from: TestAccount,
    to: TestAccount,
    devices: number[],
  ) => {
    const content = new Uint8Array(randomBytes(24));
    const result = expectData<{ sendMessage: { __typename: string } }>(
      await postGraphQL(gatewayUrl, SEND, {
        token: from.token,
        variables: {
          d: to.aci,
          i: {
            timestamp: Date.now(),
            messages: devices.map((deviceId) => ({
              deviceId,
              registrationId: registrationIdOf(to, deviceId),
              type: 'CIPHERTEXT',
              content: b64(content),
            })),
          },
        },
      }),
      'sendMessage',
    ).sendMessage;
    expect(result.__typename).toBe('SendMessageSuccess');
    return b64(content);
  };

  beforeAll(async () => {
    platform = await startPlatform({ messagesInstances: 2, gateways: 2 });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('delivers every envelope exactly once with senders and receivers spread over two gateways and two messages instances', async () => {
    const [gatewayA, gatewayB] = platform.gateways;
    const receivers: Array<{ account: TestAccount; devices: Receiver[] }> = [];
    for (let i = 0; i < 3; i++) {
      const account = await register();
      const linked = await linkTestDevice(platform, account);
      registrationIds.set(`${account.aci}.${linked.deviceId}`, linked.registrationId);
      receivers.push({
        account,
        devices: [
          { token: account.token, seen: new Map(), duplicates: 0 },
          { token: linked.token, seen: new Map(), duplicates: 0 },
        ],
      });
    }
    const senders = [await register(), await register(), await register()];
    const perPair = 20;
    const expected = senders.length * perPair;

    // Device 1 of every receiver on gateway A (messages instance 0), device 2 on gateway B.
    const receiving = receivers.flatMap(({ devices }) =>
      devices.map((device, d) =>
        receiveAll(device, expected, [d === 0 ? gatewayA!.wsUrl : gatewayB!.wsUrl]),
      ),
    );
    const sent = new Map<string, string[]>();
    await Promise.all(
      senders.map(async (sender, s) => {
        const via = s % 2 === 0 ? gatewayA!.url : gatewayB!.url;
        for (let n = 0; n < perPair; n++) {
          for (const { account } of receivers) {
            const content = await send(via, sender, account, [1, 2]);
            sent.set(account.aci, [...(sent.get(account.aci) ?? []), content]);
          }
        }
      }),
    );
    expect(await Promise.all(receiving)).toEqual(Array(6).fill(1));
    for (const { account, devices } of receivers) {
      for (const device of devices) {
        expect(device.duplicates).toBe(0);
        expect([...device.seen.values()].sort()).toEqual([...sent.get(account.aci)!].sort());
      }
    }
  }, 120_000);

  /**
   * Receivers stream from a messages process of their own (through a gateway of its own) while
   * senders send `total` envelopes through the first gateway; when a quarter has arrived the
   * process gets `signal`. The receivers fail over to the first gateway and drain what was
   * stored; every envelope must arrive, and acknowledging them all leaves nothing stored.
   */
  const survivesStop = async (signal: NodeJS.Signals, total: number) => {
    const child = await spawnSubgraphProcess('messages', platform.processEnv());
    try {
      const doomed = await platform.startGateway(child.url);
      const receivers = [await register(), await register(), await register(), await register()];
      const senders = await Promise.all(Array.from({ length: 10 }, () => register()));
      const perReceiver = total / receivers.length;
      const perPair = perReceiver / senders.length;
      const devices: Receiver[] = receivers.map((account) => ({
        token: account.token,
        seen: new Map(),
        duplicates: 0,
      }));
      let delivered = 0;
      let stopped: Promise<void> | undefined;
      const onEnvelope = () => {
        delivered++;
        if (delivered === total / 4) stopped = child.stop(signal);
      };
      const receiving = devices.map((device) =>
        receiveAll(device, perReceiver, [doomed.wsUrl, platform.gatewayUrl], onEnvelope),
      );
      const sent = new Map<string, string[]>();
      await Promise.all(
        senders.map(async (sender) => {
          for (let n = 0; n < perPair; n++) {
            for (const account of receivers) {
              const content = await send(platform.gatewayUrl, sender, account, [1]);
              sent.set(account.aci, [...(sent.get(account.aci) ?? []), content]);
            }
          }
        }),
      );
      const connections = await Promise.all(receiving);
      await stopped;
      const exit = await child.exited;
      // Every receiver had to reconnect at least once, and still got everything.
      for (const count of connections) expect(count).toBeGreaterThanOrEqual(2);
      receivers.forEach((account, i) => {
        expect([...devices[i]!.seen.values()].sort()).toEqual([...sent.get(account.aci)!].sort());
      });
      for (const [i, device] of devices.entries()) {
        const guids = [...device.seen.keys()];
        let deleted = 0;
        for (let start = 0; start < guids.length; start += 100) {
          deleted += await acknowledgeEnvelopes(
            platform.gatewayUrl,
            device.token,
            guids.slice(start, start + 100),
          );
        }
        expect(deleted).toBe(perReceiver);
        expect(
          await platform.runtime.prisma.queuedEnvelope.count({
            where: { destinationAci: receivers[i]!.aci },
          }),
        ).toBe(0);
      }
      return exit;
    } finally {
      await child.stop('SIGKILL');
    }
  };

  it('loses nothing when a messages instance is killed (SIGKILL) with 2,000 envelopes in flight', async () => {
    expect(await survivesStop('SIGKILL', 2000)).toBe('SIGKILL');
  }, 180_000);

  it('loses nothing when a messages instance is stopped (SIGTERM) during envelope streams, and exits cleanly', async () => {
    expect(await survivesStop('SIGTERM', 400)).toBe(0);
  }, 120_000);
});

describe('graceful stop of a subgraph', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({ messagesInstances: 2 });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('fails readiness first, then finishes an in-flight request before it stops', async () => {
    const bob = await registerTestAccount(platform, '+14155589999');
    const instance = platform.messages[1]!;
    const base = instance.url.replace(/\/graphql$/, '');
    const readiness = async () => (await fetch(`${base}/readiness`)).status;
    expect(await readiness()).toBe(200);

    // A long poll waits on the instance: in flight until a message arrives or 20 s pass.
    const polling = postGraphQL<{ envelopes: { envelopes: { content: string }[] } }>(
      instance.url,
      'query { envelopes(waitSeconds: 20) { envelopes { content } } }',
      { token: bob.token, headers: { 'x-router-secret': platform.routerSecret } },
    );
    const redis = new Redis(testRedisUrl());
    try {
      const channel = `${platform.redisPrefix}envelopes:${bob.aci}:1`;
      for (;;) {
        const [, subscribers] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
        if (subscribers > 0) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      redis.disconnect();
    }

    instance.drain();
    expect(await readiness()).toBe(503);
    const closing = instance.close();
    // The request in flight still completes with its answer.
    const sender = await registerTestAccount(platform, '+14155589998');
    const content = new Uint8Array(Buffer.from('in flight'));
    await sendOpaqueMessage(platform.gatewayUrl, sender.token, bob, content);
    const answer = await polling;
    expect(answer.status).toBe(200);
    expect(answer.body.data?.envelopes.envelopes).toEqual([
      { content: Buffer.from(content).toString('base64') },
    ]);
    await closing;
    await expect(fetch(`${base}/readiness`)).rejects.toThrow();
  });
});
