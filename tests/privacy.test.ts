import { appendFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  postGraphQL,
  registerTestAccount,
  sendOpaqueMessage,
  sentinelFileOf,
  startPlatform,
  testRedisUrl,
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
});
