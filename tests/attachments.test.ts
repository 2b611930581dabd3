import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import {
  CiphertextMessageType,
  PreKeySignalMessage,
  ProtocolAddress,
  signalDecryptPreKey,
  signalEncrypt,
} from '@signalapp/libsignal-client';
import { Aci } from '@signalapp/libsignal-client/dist/Address.js';
import { ProfileKey } from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import {
  TestSignalStores,
  createWsClient,
  expectData,
  postGraphQL,
  registerTestAccount,
  startPlatform,
  startSessions,
  subscribe,
  type GraphQLResponse,
  type Platform,
  type TestAccount,
} from '@courier/testing';
import { Upload } from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MiB = 1024 * 1024;
const FORM = `mutation ($n: Float!) { createAttachmentUploadForm(uploadLength: $n) {
  cdn key uploadUrl headers { name value } expiresAt } }`;
const LIMITS = `{ attachmentLimits { maxUploadBytes uploadFormTtlSeconds retentionDays retentionSeconds } }`;
const SEND = `mutation ($d: String!, $i: SendMessageInput!) {
  sendMessage(destination: $d, input: $i) { __typename } }`;
const ENVELOPES = `subscription { envelopes { __typename ... on Envelope {
  guid type sourceServiceId content } } }`;
const SET_PROFILE = `mutation($input: SetProfileInput!) {
  setProfile(input: $input) { avatar avatarUploadForm { cdn key uploadUrl headers { name value } expiresAt } } }`;

interface UploadFormData {
  cdn: number;
  key: string;
  uploadUrl: string;
  headers: { name: string; value: string }[];
  expiresAt: number;
}

/** What a sender puts in its encrypted message so the recipient can fetch the attachment. */
interface AttachmentPointer {
  cdn: number;
  key: string;
  /** AES-256 key ‖ HMAC-SHA256 key, base64. */
  keys: string;
  /** SHA-256 of the uploaded blob, base64. */
  digest: string;
  size: number;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const codeOf = (body: GraphQLResponse<unknown>) => body.errors?.[0]?.extensions?.['code'];
const headersOf = (form: UploadFormData) =>
  Object.fromEntries(form.headers.map((header) => [header.name, header.value]));

/** Signal's attachment encryption: IV ‖ AES-256-CBC(plaintext) ‖ HMAC-SHA256(IV ‖ ciphertext). */
function encryptAttachment(plaintext: Buffer) {
  const keys = randomBytes(64);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', keys.subarray(0, 32), iv);
  const body = Buffer.concat([iv, cipher.update(plaintext), cipher.final()]);
  const mac = createHmac('sha256', keys.subarray(32)).update(body).digest();
  const blob = Buffer.concat([body, mac]);
  return { blob, keys, digest: createHash('sha256').update(blob).digest() };
}

function decryptAttachment(blob: Buffer, keys: Buffer, digest: Buffer): Buffer {
  if (!timingSafeEqual(createHash('sha256').update(blob).digest(), digest)) {
    throw new Error('digest mismatch');
  }
  const body = blob.subarray(0, blob.length - 32);
  const mac = createHmac('sha256', keys.subarray(32)).update(body).digest();
  if (!timingSafeEqual(mac, blob.subarray(blob.length - 32))) throw new Error('bad MAC');
  const decipher = createDecipheriv('aes-256-cbc', keys.subarray(0, 32), body.subarray(0, 16));
  return Buffer.concat([decipher.update(body.subarray(16)), decipher.final()]);
}

/** Runs a tus-js-client upload to completion, or until `stopAfter` bytes were accepted. */
function tusUpload(
  data: Buffer,
  form: UploadFormData,
  options: { uploadUrl?: string; stopAfter?: number; accepted?: number[] } = {},
): Promise<{ url: string; interrupted: boolean }> {
  return new Promise((resolve, reject) => {
    const upload: Upload = new Upload(data, {
      endpoint: form.uploadUrl,
      ...(options.uploadUrl ? { uploadUrl: options.uploadUrl } : {}),
      headers: headersOf(form),
      chunkSize: MiB,
      retryDelays: [],
      onChunkComplete: (_chunk, accepted) => {
        options.accepted?.push(accepted);
        if (options.stopAfter !== undefined && accepted >= options.stopAfter) {
          upload.abort().then(() => resolve({ url: upload.url!, interrupted: true }), reject);
        }
      },
      onSuccess: () => resolve({ url: upload.url!, interrupted: false }),
      onError: reject,
    });
    upload.start();
  });
}

describe('attachments', () => {
  let platform: Platform;
  let clockOffsetMs = 0;
  let numbers = 0;
  const FORM_TTL_SECONDS = 600;
  const RETENTION_SECONDS = 3600;
  const register = () =>
    registerTestAccount(platform, `+1415556${String(1000 + numbers++).padStart(4, '0')}`);
  const gql = async <T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown>,
    token?: string,
  ) =>
    (await postGraphQL<T>(platform.gatewayUrl, query, { variables, ...(token ? { token } : {}) }))
      .body;
  const createForm = async (account: TestAccount, length: number) =>
    expectData<{ createAttachmentUploadForm: UploadFormData }>(
      { body: await gql(FORM, { n: length }, account.token) },
      'createAttachmentUploadForm',
    ).createAttachmentUploadForm;
  const downloadUrl = (key: string) => `${platform.attachments.publicUrl}/attachments/${key}`;
  const rows = (key?: string) =>
    platform.runtime.prisma.attachment.count(key ? { where: { key } } : undefined);
  /** Asserts nothing of `key` is stored: no row, no bytes, no download. */
  const expectNothingStored = async (key: string) => {
    expect(await rows(key)).toBe(0);
    expect(await platform.attachments.storage.status(key)).toBeNull();
    expect((await fetch(downloadUrl(key))).status).toBe(404);
  };
  const tusRequest = (
    method: string,
    url: string,
    headers: Record<string, string>,
    body?: Uint8Array<ArrayBuffer>,
  ) =>
    fetch(url, {
      method,
      headers: { 'Tus-Resumable': '1.0.0', ...headers },
      ...(body ? { body } : {}),
    });
  const create = (form: UploadFormData, length: number, headers = headersOf(form)) =>
    tusRequest('POST', form.uploadUrl, { ...headers, 'Upload-Length': String(length) });

  beforeAll(async () => {
    platform = await startPlatform({
      attachments: {
        now: () => Date.now() + clockOffsetMs,
        limits: { uploadFormTtlSeconds: FORM_TTL_SECONDS, retentionSeconds: RETENTION_SECONDS },
      },
    });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('carries a 5 MiB encrypted file from one account to another, resumed and ranged', async () => {
    const [alice, bob] = [await register(), await register()];
    const plaintext = randomBytes(5 * MiB);
    const { blob, keys, digest } = encryptAttachment(plaintext);

    const form = await createForm(alice, blob.length);
    expect(form.cdn).toBe(3);
    expect(Buffer.from(form.key, 'base64url')).toHaveLength(15);
    expect(form.uploadUrl).toBe(`${platform.attachments.publicUrl}/attachments`);
    expect(form.expiresAt).toBeGreaterThan(Date.now());
    expect(await rows(form.key)).toBe(0);

    // Interrupted after two 1 MiB chunks: a partial upload, not downloadable.
    const first = await tusUpload(blob, form, { stopAfter: 2 * MiB });
    expect(first.interrupted).toBe(true);
    expect(first.url).toBe(`${form.uploadUrl}/${form.key}`);
    const head = await tusRequest('HEAD', first.url, headersOf(form));
    expect(head.status).toBe(200);
    expect(head.headers.get('upload-offset')).toBe(String(2 * MiB));
    expect(head.headers.get('upload-length')).toBe(String(blob.length));
    const partial = await platform.runtime.prisma.attachment.findUnique({
      where: { key: form.key },
    });
    expect(partial).toMatchObject({ uploadLength: BigInt(blob.length), completedAt: null });
    expect((await fetch(downloadUrl(form.key))).status).toBe(404);

    // Resumed from the server's offset: only the rest is sent.
    const accepted: number[] = [];
    const resumed = await tusUpload(blob, form, { uploadUrl: first.url, accepted });
    expect(resumed).toEqual({ url: first.url, interrupted: false });
    expect(accepted[0]).toBe(3 * MiB);
    expect(accepted.at(-1)).toBe(blob.length);
    const complete = await platform.runtime.prisma.attachment.findUnique({
      where: { key: form.key },
    });
    expect(complete?.completedAt).toBeInstanceOf(Date);

    // Alice sends the pointer (key, digest, key material) to Bob in a PQXDH-encrypted envelope.
    const aliceStores = TestSignalStores.forIdentity(alice.aciIdentity);
    const bobStores = TestSignalStores.forIdentity(bob.aciIdentity);
    const aliceAddress = ProtocolAddress.new(alice.aci, 1);
    const bobAddress = ProtocolAddress.new(bob.aci, 1);
    await startSessions(
      platform.gatewayUrl,
      { token: alice.token, address: aliceAddress },
      aliceStores,
      bob.aci,
      1,
    );
    const pointer: AttachmentPointer = {
      cdn: form.cdn,
      key: form.key,
      keys: b64(keys),
      digest: b64(digest),
      size: plaintext.length,
    };
    const message = await signalEncrypt(
      new Uint8Array(Buffer.from(JSON.stringify(pointer))),
      bobAddress,
      aliceAddress,
      aliceStores.sessions,
      aliceStores.identity,
    );
    expect(message.type()).toBe(CiphertextMessageType.PreKey);
    const client = createWsClient(platform.gatewayWsUrl, { token: bob.token });
    const events = subscribe<{
      envelopes: { __typename: string; type: string; sourceServiceId: string; content: string };
    }>(client, ENVELOPES);
    let received: AttachmentPointer;
    try {
      expect((await events.next()).value?.data?.envelopes.__typename).toBe('QueueEmpty');
      const sent = await gql<{ sendMessage: { __typename: string } }>(
        SEND,
        {
          d: bob.aci,
          i: {
            timestamp: Date.now(),
            messages: [
              {
                deviceId: 1,
                registrationId: bob.aciIdentity.registrationId,
                type: 'PREKEY_BUNDLE',
                content: b64(message.serialize()),
              },
            ],
          },
        },
        alice.token,
      );
      expect(sent.data?.sendMessage.__typename).toBe('SendMessageSuccess');
      const envelope = (await events.next()).value!.data!.envelopes;
      expect(envelope).toMatchObject({ type: 'PREKEY_BUNDLE', sourceServiceId: alice.aci });
      const decrypted = await signalDecryptPreKey(
        PreKeySignalMessage.deserialize(new Uint8Array(Buffer.from(envelope.content, 'base64'))),
        aliceAddress,
        bobAddress,
        bobStores.sessions,
        bobStores.identity,
        bobStores.preKeys,
        bobStores.signedPreKeys,
        bobStores.kyberPreKeys,
      );
      received = JSON.parse(Buffer.from(decrypted).toString()) as AttachmentPointer;
    } finally {
      await events.return?.();
      await client.dispose();
    }

    // Bob downloads with no credentials: a ranged read, then the whole blob; decrypts it.
    const url = downloadUrl(received.key);
    const ranged = await fetch(url, { headers: { Range: `bytes=${MiB}-${2 * MiB - 1}` } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes ${MiB}-${2 * MiB - 1}/${blob.length}`);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(blob.subarray(MiB, 2 * MiB))).toBe(true);
    const tail = await fetch(url, { headers: { Range: 'bytes=-32' } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(blob.subarray(-32))).toBe(true);

    const full = await fetch(url);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-length')).toBe(String(blob.length));
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    expect(full.headers.get('cache-control')).toMatch(/^public, max-age=\d+, immutable$/);
    const etag = full.headers.get('etag');
    expect(etag).toMatch(/^"[^"]+"$/);
    const downloaded = Buffer.from(await full.arrayBuffer());
    const original = decryptAttachment(
      downloaded,
      Buffer.from(received.keys, 'base64'),
      Buffer.from(received.digest, 'base64'),
    );
    expect(original.length).toBe(received.size);
    expect(original.equals(plaintext)).toBe(true);

    const revalidated = await fetch(url, { headers: { 'If-None-Match': etag! } });
    expect(revalidated.status).toBe(304);
    const stale = await fetch(url, { headers: { Range: 'bytes=0-9', 'If-Range': '"other"' } });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
    const beyond = await fetch(url, { headers: { Range: `bytes=${blob.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${blob.length}`);
  });

  it('publishes its limits', async () => {
    expect(expectData({ body: await gql(LIMITS, {}) }, 'attachmentLimits')).toEqual({
      attachmentLimits: {
        maxUploadBytes: 100 * MiB,
        uploadFormTtlSeconds: FORM_TTL_SECONDS,
        retentionDays: 1,
        retentionSeconds: RETENTION_SECONDS,
      },
    });
  });

  it('refuses forms beyond the limit, and without authentication; nothing is stored', async () => {
    const alice = await register();
    const before = await rows();
    const tooLarge = await gql(FORM, { n: 100 * MiB + 1 }, alice.token);
    expect(codeOf(tooLarge)).toBe('PAYLOAD_TOO_LARGE');
    expect(tooLarge.errors?.[0]?.extensions?.['limit']).toBe(100 * MiB);
    expect(codeOf(await gql(FORM, { n: 0 }, alice.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(FORM, { n: 1.5 }, alice.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(FORM, { n: 1000 }))).toBe('UNAUTHENTICATED');
    expect(await rows()).toBe(before);
  });

  it('refuses missing, forged and misused credentials and wrong lengths; nothing is stored', async () => {
    const alice = await register();
    const form = await createForm(alice, 1000);
    const other = await createForm(alice, 1000);
    const credential = headersOf(form)['Authorization']!;
    const forged = `${credential.slice(0, -2)}${credential.endsWith('AA') ? 'BB' : 'AA'}`;

    const missing = await create(form, 1000, {});
    expect(missing.status).toBe(401);
    expect(await missing.text()).toMatch(/credential required/);
    const refused = await create(form, 1000, { Authorization: forged });
    expect(refused.status).toBe(401);
    expect(await refused.text()).toMatch(/Invalid upload credential/);
    const shorter = await create(form, 999);
    expect(shorter.status).toBe(400);
    expect(await shorter.text()).toMatch(/differs from the form/);
    const longer = await create(form, 1001);
    expect(longer.status).toBe(413);
    const deferred = await tusRequest('POST', form.uploadUrl, {
      ...headersOf(form),
      'Upload-Defer-Length': '1',
    });
    expect(deferred.status).toBe(400);
    await expectNothingStored(form.key);

    // A credential works only for its own key.
    expect((await create(other, 1000)).status).toBe(201);
    const misused = await tusRequest('PATCH', `${form.uploadUrl}/${other.key}`, {
      ...headersOf(form),
      'Upload-Offset': '0',
      'Content-Type': 'application/offset+octet-stream',
    });
    expect(misused.status).toBe(403);
    expect(await platform.attachments.storage.status(other.key)).toEqual({ offset: 0, size: 1000 });
    // A credential creates its upload once.
    const replay = await create(other, 1000);
    expect(replay.status).toBe(409);
    expect(await rows(other.key)).toBe(1);
  });

  it('refuses an expired credential, for a new upload and for resuming one', async () => {
    const alice = await register();
    const fresh = await createForm(alice, 2000);
    const started = await createForm(alice, 2000);
    expect((await create(started, 2000)).status).toBe(201);
    const url = `${started.uploadUrl}/${started.key}`;
    clockOffsetMs = FORM_TTL_SECONDS * 1000 + 1000;
    try {
      const expired = await create(fresh, 2000);
      expect(expired.status).toBe(401);
      expect(await expired.text()).toMatch(/expired/);
      const resume = await tusRequest(
        'PATCH',
        url,
        {
          ...headersOf(started),
          'Upload-Offset': '0',
          'Content-Type': 'application/offset+octet-stream',
        },
        new Uint8Array(2000),
      );
      expect(resume.status).toBe(401);
    } finally {
      clockOffsetMs = 0;
    }
    await expectNothingStored(fresh.key);
    expect(await platform.attachments.storage.status(started.key)).toEqual({
      offset: 0,
      size: 2000,
    });
  });

  it('refuses bytes past the declared length, keeping none of them', async () => {
    const alice = await register();
    const form = await createForm(alice, 1000);
    expect((await create(form, 1000)).status).toBe(201);
    const url = `${form.uploadUrl}/${form.key}`;
    const patch = (offset: number, body: Uint8Array<ArrayBuffer>) =>
      tusRequest(
        'PATCH',
        url,
        {
          ...headersOf(form),
          'Upload-Offset': String(offset),
          'Content-Type': 'application/offset+octet-stream',
        },
        body,
      );
    expect((await patch(0, new Uint8Array(1010))).status).toBe(413);
    expect(await platform.attachments.storage.status(form.key)).toEqual({ offset: 0, size: 1000 });
    expect((await patch(0, new Uint8Array(600))).status).toBe(204);
    expect((await patch(600, new Uint8Array(401))).status).toBe(413);
    expect(await platform.attachments.storage.status(form.key)).toEqual({
      offset: 600,
      size: 1000,
    });
    expect((await fetch(downloadUrl(form.key))).status).toBe(404);
    const last = await patch(600, new Uint8Array(400).fill(7));
    expect(last.status).toBe(204);
    expect(last.headers.get('upload-offset')).toBe('1000');
    const body = Buffer.from(await (await fetch(downloadUrl(form.key))).arrayBuffer());
    expect(body.subarray(600).every((byte) => byte === 7)).toBe(true);
  });

  it('announces TUS 1.0 and its limit to OPTIONS, and answers HEAD without TUS as a download', async () => {
    const options = await fetch(`${platform.attachments.publicUrl}/attachments`, {
      method: 'OPTIONS',
    });
    expect(options.status).toBe(204);
    expect(options.headers.get('tus-version')).toBe('1.0.0');
    expect(options.headers.get('tus-extension')).toBe('creation,creation-with-upload,termination');
    expect(options.headers.get('tus-max-size')).toBe(String(100 * MiB));
    expect(options.headers.get('access-control-allow-headers')).toMatch(/Authorization/);

    const alice = await register();
    const form = await createForm(alice, 10);
    await tusUpload(Buffer.alloc(10, 3), form);
    const head = await fetch(downloadUrl(form.key), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('10');
    expect(head.headers.get('etag')).toMatch(/^"/);
  });

  it('answers 404 for unknown and malformed keys', async () => {
    await expectNothingStored(randomBytes(15).toString('base64url'));
    for (const key of ['short', '..%2F..%2Fetc%2Fpasswd', `${'A'.repeat(20)}.json`]) {
      expect((await fetch(downloadUrl(key))).status).toBe(404);
    }
    // A row whose bytes are gone answers 404 too.
    const form = await createForm(await register(), 10);
    await tusUpload(Buffer.alloc(10), form);
    await platform.attachments.storage.remove(form.key);
    expect((await fetch(downloadUrl(form.key))).status).toBe(404);
  });

  it('terminates an unfinished upload on request', async () => {
    const alice = await register();
    const form = await createForm(alice, 5000);
    expect((await create(form, 5000)).status).toBe(201);
    const terminated = await tusRequest('DELETE', `${form.uploadUrl}/${form.key}`, headersOf(form));
    expect(terminated.status).toBe(204);
    await expectNothingStored(form.key);
    const again = await tusRequest('DELETE', `${form.uploadUrl}/${form.key}`, headersOf(form));
    expect(again.status).toBe(404);

    const finished = await createForm(alice, 10);
    await tusUpload(Buffer.alloc(10), finished);
    const refused = await tusRequest(
      'DELETE',
      `${finished.uploadUrl}/${finished.key}`,
      headersOf(finished),
    );
    expect(refused.status).toBe(400);
    expect((await fetch(downloadUrl(finished.key))).status).toBe(200);
  });

  it('uploads profile avatars through the same path', async () => {
    const alice = await register();
    const aci = Aci.fromUuid(alice.aci);
    const profileKey = new ProfileKey(new Uint8Array(randomBytes(32)));
    const avatar = randomBytes(40_000);
    const input = {
      version: profileKey.getProfileKeyVersion(aci).toString(),
      commitment: b64(profileKey.getCommitment(aci).serialize()),
      name: b64(randomBytes(81)),
      avatar: 'UPLOAD',
      avatarUploadLength: avatar.length,
    };
    const data = expectData<{ setProfile: { avatar: string; avatarUploadForm: UploadFormData } }>(
      { body: await gql(SET_PROFILE, { input }, alice.token) },
      'setProfile',
    ).setProfile;
    const form = data.avatarUploadForm;
    expect(data.avatar).toBe(form.key);
    expect(form.uploadUrl).toBe(`${platform.attachments.publicUrl}/attachments`);
    expect((await create(form, avatar.length + 1)).status).toBe(413);
    await tusUpload(avatar, form);
    const downloaded = Buffer.from(await (await fetch(downloadUrl(form.key))).arrayBuffer());
    expect(downloaded.equals(avatar)).toBe(true);

    const tooLarge = await gql(
      SET_PROFILE,
      { input: { ...input, avatarUploadLength: 10 * MiB + 1 } },
      alice.token,
    );
    expect(codeOf(tooLarge)).toBe('PAYLOAD_TOO_LARGE');
  });

  it('deletes abandoned uploads once their credential expired, and attachments after retention', async () => {
    const alice = await register();
    const completed = await createForm(alice, 3000);
    await tusUpload(Buffer.alloc(3000, 1), completed);
    const abandoned = await createForm(alice, 3000);
    expect((await create(abandoned, 3000)).status).toBe(201);
    const url = `${abandoned.uploadUrl}/${abandoned.key}`;
    expect(
      (
        await tusRequest(
          'PATCH',
          url,
          {
            ...headersOf(abandoned),
            'Upload-Offset': '0',
            'Content-Type': 'application/offset+octet-stream',
          },
          new Uint8Array(1000),
        )
      ).status,
    ).toBe(204);

    try {
      clockOffsetMs = 0;
      await platform.attachments.expiry.run();
      expect(await rows(completed.key)).toBe(1);
      expect(await rows(abandoned.key)).toBe(1);

      clockOffsetMs = FORM_TTL_SECONDS * 1000 + 1000;
      expect(await platform.attachments.expiry.run()).toBeGreaterThanOrEqual(1);
      await expectNothingStored(abandoned.key);
      expect((await fetch(downloadUrl(completed.key))).status).toBe(200);

      clockOffsetMs = RETENTION_SECONDS * 1000 + 1000;
      expect(await platform.attachments.expiry.run()).toBeGreaterThanOrEqual(1);
      await expectNothingStored(completed.key);
      expect(await rows()).toBe(0);
    } finally {
      clockOffsetMs = 0;
    }
  });
});
