import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  PreKeySignalMessage,
  ProtocolAddress,
  signalDecryptPreKey,
  signalEncrypt,
} from '@signalapp/libsignal-client';
import { GroupSecretParams } from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import { databaseUrlFor, dropDatabase } from '@courier/db';
import {
  backupDatabase,
  clearCredentialCopies,
  restoreDatabase,
  TargetNotEmptyError,
  type BackupResult,
} from '@courier/ops/backup';
import { signal } from '@courier/proto';
import {
  Inbox,
  PRE_KEY_BUNDLE_FIELDS,
  TestSignalStores,
  databaseFingerprint,
  expectData,
  generateKyberPreKeys,
  generateOneTimePreKeys,
  postGraphQL,
  registerTestAccount,
  sendOpaqueMessage,
  startPlatform,
  startSessions,
  testAdminDatabaseUrl,
  testRedisUrl,
  uploadOneTimeKeys,
  type Platform,
  type PreKeyBundleDeviceResponse,
  type TestAccount,
} from '@courier/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CREATE_GROUP,
  GroupUser,
  b64,
  bytesOf,
  decryptGroup,
  encryptText,
  serverPublicParams,
  type GroupData,
} from './groups-support.ts';

const SEND = `mutation ($d: String!, $i: SendMessageInput!) {
  sendMessage(destination: $d, input: $i) { __typename } }`;
const BUNDLE = `mutation ($id: String!) {
  preKeyBundle(serviceId: $id, deviceId: 1) { ${PRE_KEY_BUNDLE_FIELDS} } }`;
const LOGIN = `mutation ($input: LoginInput!) { login(input: $input) { accessToken } }`;

type Bundle = { preKeyBundle: { identityKey: string; devices: PreKeyBundleDeviceResponse[] } };

describe('backup drill: back up a serving platform, restore, serve from the restore', () => {
  const admin = testAdminDatabaseUrl();
  const restored = `courier_restore_${randomBytes(5).toString('hex')}`;
  const restoredNode = `courier_restore_${randomBytes(5).toString('hex')}`;
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  });

  it(
    'brings back accounts, keys, groups and undelivered envelopes',
    { timeout: 180_000 },
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'courier-backup-'));
      cleanup.push(() => rm(dir, { recursive: true, force: true }));
      const live = await startPlatform();
      cleanup.push(() => live.stop());
      const gql = async <T>(platform: Platform, query: string, variables: object, token?: string) =>
        expectData<T>(
          await postGraphQL<T>(platform.gatewayUrl, query, {
            variables: variables as Record<string, unknown>,
            ...(token ? { token } : {}),
          }),
          query.slice(0, 40),
        );

      // Before the backup: accounts, one-time prekeys, a group, and an undelivered message.
      let n = 0;
      const register = () =>
        registerTestAccount(live, `+1415559${String(1000 + n++).padStart(4, '0')}`);
      const [alice, bob, carol, dave] = [
        await register(),
        await register(),
        await register(),
        await register(),
      ];
      const bobStores = TestSignalStores.forIdentity(bob.aciIdentity);
      await uploadOneTimeKeys(
        live.gatewayUrl,
        bob.token,
        'ACI',
        bobStores,
        generateOneTimePreKeys(2, 1),
        generateKyberPreKeys(bob.aciIdentity.identityKeyPair, 2, 100),
      );
      const aliceStores = TestSignalStores.forIdentity(alice.aciIdentity);
      const [aliceAddress, bobAddress] = [
        ProtocolAddress.new(alice.aci, 1),
        ProtocolAddress.new(bob.aci, 1),
      ];
      await startSessions(
        live.gatewayUrl,
        { token: alice.token, address: aliceAddress },
        aliceStores,
        bob.aci,
        1,
      );
      const ciphertext = await signalEncrypt(
        new Uint8Array(Buffer.from('sent before the backup')),
        bobAddress,
        aliceAddress,
        aliceStores.sessions,
        aliceStores.identity,
      );
      expect(PreKeySignalMessage.deserialize(ciphertext.serialize()).preKeyId()).toBe(1);
      const sentAt = Date.now();
      await gql(
        live,
        SEND,
        {
          d: bob.aci,
          i: {
            timestamp: sentAt,
            messages: [
              {
                deviceId: 1,
                registrationId: bob.aciIdentity.registrationId,
                type: 'PREKEY_BUNDLE',
                content: b64(ciphertext.serialize()),
              },
            ],
          },
        },
        alice.token,
      );

      const params = await serverPublicParams(live);
      const groupAdmin = await GroupUser.create(live, alice, params);
      const groupMember = await GroupUser.create(live, carol, params);
      const groupSecret = GroupSecretParams.generate();
      const created = await groupAdmin.request<{ createGroup: GroupData }>(CREATE_GROUP, {
        auth: groupAdmin.auth(groupSecret),
        group: b64(
          signal.Group.encode({
            publicKey: groupSecret.getPublicParams().serialize(),
            version: 0,
            title: encryptText(groupSecret, 'Restored club'),
            accessControl: {
              attributes: signal.AccessControl.AccessRequired.MEMBER,
              members: signal.AccessControl.AccessRequired.ADMINISTRATOR,
              addFromInviteLink: signal.AccessControl.AccessRequired.UNSATISFIABLE,
            },
            members: [
              {
                role: signal.Member.Role.ADMINISTRATOR,
                presentation: groupAdmin.presentation(groupSecret),
              },
              {
                role: signal.Member.Role.DEFAULT,
                presentation: groupMember.presentation(groupSecret),
              },
            ],
          }).finish(),
        ),
      });
      expect(created.body.errors).toBeUndefined();

      // The backup runs while the platform serves: Carol keeps sending to Dave throughout.
      const loadBase = Date.now();
      let sent = 0;
      let backupDone = false;
      let warmedUp = () => {};
      const warm = new Promise<void>((resolve) => (warmedUp = resolve));
      const load = (async () => {
        while (!backupDone && sent < 2000) {
          await sendOpaqueMessage(
            live.gatewayUrl,
            carol.token,
            dave,
            randomBytes(48),
            loadBase + sent,
          );
          if (++sent === 5) warmedUp();
        }
      })();
      await Promise.race([warm, load]);
      const confirmedBeforeBackup = sent;
      const file = path.join(dir, 'courier.backup');
      let backup: BackupResult;
      try {
        backup = await backupDatabase({ databaseUrl: live.database.url, file });
      } finally {
        backupDone = true;
        await load;
      }
      process.stdout.write(
        `backup: ${backup.engine}, ${backup.bytes} bytes in ${backup.milliseconds} ms, ${sent - confirmedBeforeBackup} sends during it\n`,
      );

      // Restore into a fresh database; a non-empty target is refused.
      const restoredUrl = databaseUrlFor(admin, restored);
      cleanup.push(() => dropDatabase(admin, restored));
      const restore = await restoreDatabase({ databaseUrl: restoredUrl, file });
      process.stdout.write(`restore: ${restore.engine} in ${restore.milliseconds} ms\n`);
      expect(restore.engine).toBe(backup.engine);
      expect(restore.rows['accounts.accounts']).toBe(4);
      await expect(
        restoreDatabase({ databaseUrl: live.database.url, file }),
      ).rejects.toBeInstanceOf(TargetNotEmptyError);

      // Credential copies in Redis (which could name credentials newer than the backup) are
      // cleared; other keys stay.
      const redis = new Redis(testRedisUrl());
      cleanup.push(async () => redis.disconnect());
      const credentialKeys = await redis.keys(`${live.redisPrefix}credential:*`);
      expect(credentialKeys.length).toBeGreaterThan(0);
      await redis.set(`${live.redisPrefix}drill-other-key`, '1', 'EX', 60);
      expect(await clearCredentialCopies(testRedisUrl(), live.redisPrefix)).toBe(
        credentialKeys.length,
      );
      expect(await redis.keys(`${live.redisPrefix}credential:*`)).toEqual([]);
      expect(await redis.get(`${live.redisPrefix}drill-other-key`)).toBe('1');

      // One snapshot: Dave's restored queue is exactly the first K of Carol's sequential sends.
      const second = await startPlatform({
        databaseUrl: restoredUrl,
        zkSecretParams: live.runtime.zkSecretParams,
      });
      cleanup.push(() => second.stop());
      const daveQueue = await second.runtime.prisma.queuedEnvelope.findMany({
        where: { destinationAci: dave.aci },
        select: { envelope: true },
      });
      const timestamps = daveQueue
        .map((e) => Number(signal.Envelope.decode(e.envelope).clientTimestamp) - loadBase)
        .sort((a, b) => a - b);
      expect(timestamps.length).toBeGreaterThanOrEqual(confirmedBeforeBackup);
      expect(timestamps).toEqual(Array.from({ length: timestamps.length }, (_, i) => i));

      // Accounts: login with the old password.
      const login = async (account: TestAccount) =>
        (
          await gql<{ login: { accessToken: string } }>(second, LOGIN, {
            input: { aci: account.aci, deviceId: 1, password: account.password },
          })
        ).login.accessToken;
      const [aliceToken, bobToken] = [await login(alice), await login(bob)];

      // Keys: the bundle hands out the next one-time key; key 1 stays consumed.
      const bundle = (await gql<Bundle>(second, BUNDLE, { id: bob.aci }, aliceToken)).preKeyBundle;
      expect(bundle.identityKey).toBe(b64(bob.aciIdentity.identityKey));
      expect(bundle.devices[0]!.preKey?.keyId).toBe(2);
      expect(bundle.devices[0]!.registrationId).toBe(bob.aciIdentity.registrationId);

      // Undelivered envelopes: Bob drains the message sent before the backup and decrypts it.
      const inbox = new Inbox(second.gatewayWsUrl, bobToken);
      try {
        const drained = await inbox.drain();
        expect(drained).toHaveLength(1);
        expect(drained[0]).toMatchObject({ sourceServiceId: alice.aci, clientTimestamp: sentAt });
        const plaintext = await signalDecryptPreKey(
          PreKeySignalMessage.deserialize(bytesOf(drained[0]!.content!)),
          aliceAddress,
          bobAddress,
          bobStores.sessions,
          bobStores.identity,
          bobStores.preKeys,
          bobStores.signedPreKeys,
          bobStores.kyberPreKeys,
        );
        expect(Buffer.from(plaintext).toString()).toBe('sent before the backup');
      } finally {
        await inbox.close();
      }

      // Groups: the group created before the backup is readable with the same zkgroup params.
      const restoredAdmin = new GroupUser(
        second,
        { ...alice, token: aliceToken },
        params,
        groupAdmin.profileKey,
        groupAdmin.profileCredential,
        groupAdmin.authCredential,
      );
      const { body } = await restoredAdmin.read(groupSecret);
      expect(body.errors).toBeUndefined();
      const state = decryptGroup(groupSecret, bytesOf(body.data!.group.state));
      expect(state.title).toBe('Restored club');
      expect(state.members.map((m) => m.aci).sort()).toEqual([alice.aci, carol.aci].sort());

      // The Node engine (no PostgreSQL client programs) restores the quiescent source exactly;
      // a non-empty target is refused unless forced.
      const nodeFile = path.join(dir, 'courier-node.backup');
      const nodeBackup = await backupDatabase({
        databaseUrl: live.database.url,
        file: nodeFile,
        engine: 'node',
      });
      expect(nodeBackup.engine).toBe('node');
      const nodeUrl = databaseUrlFor(admin, restoredNode);
      cleanup.push(() => dropDatabase(admin, restoredNode));
      expect((await restoreDatabase({ databaseUrl: nodeUrl, file: nodeFile })).engine).toBe('node');
      await expect(
        restoreDatabase({ databaseUrl: nodeUrl, file: nodeFile }),
      ).rejects.toBeInstanceOf(TargetNotEmptyError);
      await restoreDatabase({ databaseUrl: nodeUrl, file: nodeFile, force: true });
      const source = await databaseFingerprint(live.database.url);
      expect(source['accounts.accounts']).toMatch(/^4:/);
      expect(await databaseFingerprint(nodeUrl)).toEqual(source);
    },
  );
});
