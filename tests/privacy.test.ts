import { appendFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { CLIENT_KEY_HEADER } from '@courier/schema';
import {
  postGraphQL,
  registerTestAccount,
  sendOpaqueMessage,
  sentinelFileOf,
  startPlatform,
  testRedisUrl,
  type GraphQLResponse,
  type Platform,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLIENT_ADDRESSES = ['127.0.0.1', '::1', '::ffff:'];

/**
 * The privacy proof's own part: the end-to-end run logs at debug into one file that the e2e
 * global setup scans when the run ends (phone numbers, tokens, key and ciphertext bytes, IP
 * addresses); this test adds the values that pattern matching cannot recognise (passwords,
 * 16-byte access keys, short ciphertexts) to what the scan looks for, after driving them through
 * every subgraph. It also proves that no IP address is stored, in PostgreSQL or in Redis.
 */
describe('privacy', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform();
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('keeps secrets out of the logs and IP addresses out of storage', async () => {
    const [alice, bob] = [
      await registerTestAccount(platform, '+14155573001'),
      await registerTestAccount(platform, '+14155573002'),
    ];
    const content = randomBytes(24);
    await sendOpaqueMessage(platform.gatewayUrl, alice.token, bob, content);
    // A failed login and a refused send log too.
    await postGraphQL(
      platform.gatewayUrl,
      'mutation ($i: LoginInput!) { login(input: $i) { accessToken } }',
      { variables: { i: { aci: alice.aci, deviceId: 1, password: `${alice.password}x` } } },
    );
    const logFile = process.env['TEST_LOG_FILE'];
    if (logFile) {
      appendFileSync(
        sentinelFileOf(logFile),
        [
          alice.password,
          bob.password,
          Buffer.from(alice.unidentifiedAccessKey).toString('base64'),
          Buffer.from(bob.unidentifiedAccessKey).toString('base64'),
          content.toString('base64'),
          alice.token,
        ]
          .map((value) => `${value}\n`)
          .join(''),
      );
    }

    const tables = await platform.runtime.prisma.$queryRaw<{ schema: string; name: string }[]>`
      SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
      WHERE table_schema IN ('accounts', 'keys', 'messages', 'groups', 'attachments')
        AND table_type = 'BASE TABLE'`;
    expect(tables.length).toBeGreaterThan(5);
    for (const { schema, name } of tables) {
      for (const address of CLIENT_ADDRESSES) {
        const [row] = await platform.runtime.prisma.$queryRawUnsafe<{ count: bigint }[]>(
          `SELECT count(*) FROM "${schema}"."${name}" AS t WHERE t::text LIKE $1`,
          `%${address}%`,
        );
        expect(Number(row!.count), `${address} in ${schema}.${name}`).toBe(0);
      }
    }
    const redis = new Redis(testRedisUrl());
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${platform.redisPrefix}*`);
        cursor = next;
        for (const key of keys) {
          const dumped = (await redis.dumpBuffer(key))?.toString('latin1') ?? '';
          for (const address of CLIENT_ADDRESSES) {
            expect(key.includes(address) || dumped.includes(address), key).toBe(false);
          }
        }
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  });

  it('rate-limits unauthenticated provisioning per client pseudonym, which clients cannot choose', async () => {
    const spoof = 'A'.repeat(22);
    const open = async (params: Record<string, unknown>) => {
      const client = createClient({
        url: platform.gatewayWsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: params,
      });
      const events = client.iterate({
        query:
          'subscription { provisioning { __typename ... on ProvisioningAddress { address } } }',
      });
      const first = await events.next();
      return { client, events, first: first.value as GraphQLResponse<unknown> | undefined };
    };
    const sessions = [];
    try {
      // Each session is a new socket, some pretending to be other clients; the gateway's
      // pseudonym of the one address they share is what counts.
      for (let i = 0; i < 10; i++) {
        const session = await open(
          i % 2 === 0 ? {} : { clientKey: `${spoof}`, [CLIENT_KEY_HEADER]: spoof },
        );
        expect(session.first?.errors).toBeUndefined();
        sessions.push(session);
      }
      const refused = await open({ clientKey: spoof, [CLIENT_KEY_HEADER]: spoof });
      sessions.push(refused);
      expect(refused.first?.errors?.[0]?.extensions?.['code']).toBe('RATE_LIMITED');
    } finally {
      for (const session of sessions) {
        await session.events.return?.();
        await session.client.dispose();
      }
    }
    // The bucket is keyed by the pseudonym (22 base64url characters), not by an address.
    const redis = new Redis(testRedisUrl());
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(
          cursor,
          'MATCH',
          `${platform.redisPrefix}limits:provisioning*`,
          'COUNT',
          1000,
        );
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        expect(key.slice(key.lastIndexOf(':') + 1)).toMatch(/^[A-Za-z0-9_-]{22}$/);
        expect(key).not.toContain(spoof);
      }
    } finally {
      redis.disconnect();
    }
  });
});
