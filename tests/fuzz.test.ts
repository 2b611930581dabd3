import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GroupSecretParams } from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import { signal } from '@courier/proto';
import {
  databaseFingerprint,
  expectData,
  linkTestDevice,
  postGraphQL,
  registerTestAccount,
  startPlatform,
  type Platform,
  type TestAccount,
  type TestLinkedDevice,
} from '@courier/testing';
import fc from 'fast-check';
import {
  GraphQLEnumType,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLScalarType,
  type GraphQLInputType,
} from 'graphql';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_GROUP, GroupUser, b64, encryptText, serverPublicParams } from './groups-support.ts';
import { operationFor, rootFields } from './supergraph-fields.ts';

/**
 * Fuzzing through the gateway, straight to the subgraphs and against the public TUS routes:
 * malformed documents and HTTP bodies, every root field of the supergraph with random and
 * wrong-typed variables, random bytes where keys, protobufs, ciphertexts and zk presentations
 * go, and random TUS requests. Every answer must be below 500, every GraphQL error must carry a
 * code of the closed set other than `INTERNAL`, every process must still answer its health
 * probe, and the stored state (every table of every subgraph's schema and the attachment files)
 * must be what the legitimate setup left. Deterministic: fast-check runs on a fixed seed
 * (`FUZZ_SEED` to change it); a failure message names the seed, and `FUZZ_FINDINGS_FILE` collects
 * every finding as JSON lines.
 */

const SEED = Number(process.env['FUZZ_SEED'] ?? 0x0c0_011e7);
const CONCURRENCY = 8;
/** Per fuzz round: thousands of requests on a loaded 2-core machine. */
const FUZZ_TIMEOUT_MS = 90_000;
const ALLOWED_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'RATE_LIMITED',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
]);
const SCHEMAS = ['accounts', 'keys', 'messages', 'groups', 'attachments'];
/**
 * Fields a well-typed call may legitimately carry out for the caller (delete the account,
 * change its attributes or password, remove a device): fuzzed only without a valid token.
 */
const CHANGES_OWN_STATE = new Set([
  'Mutation.deleteAccount',
  'Mutation.setAccountAttributes',
  'Mutation.removeDevice',
]);

/** A request and its answer, as recorded for a finding. */
interface Exchange {
  readonly what: string;
  readonly request: string;
  readonly status: number;
  readonly body: string;
}

/** Runs `task` on every item with at most `limit` in flight. */
async function runAll<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

const sample = <T>(arbitrary: fc.Arbitrary<T>, numRuns: number, salt: number): T[] =>
  fc.sample(arbitrary, { seed: SEED + salt, numRuns });

/** Everything a fuzzed answer may not be, or an empty list. */
function violations(status: number, text: string, graphql: boolean): string[] {
  const problems: string[] = [];
  if (status >= 500) problems.push(`HTTP ${status}`);
  if (!graphql) return problems;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    if (status < 400) problems.push('a successful answer that is not JSON');
    return problems;
  }
  const errors = (body as { errors?: unknown } | null)?.errors;
  if (errors === undefined) return problems;
  if (!Array.isArray(errors)) return [...problems, '`errors` is not a list'];
  for (const error of errors as { extensions?: { code?: unknown } }[]) {
    const code = error?.extensions?.code;
    if (typeof code !== 'string' || !ALLOWED_CODES.has(code)) {
      problems.push(`error code ${String(code)}`);
    }
  }
  return problems;
}

/** Every file under `dir` with its size and content hash. */
async function filesSnapshot(dir: string): Promise<Record<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const snapshot: Record<string, string> = {};
  for (const entry of entries.filter((e) => e.isFile())) {
    const file = path.join(entry.parentPath, entry.name);
    const bytes = await readFile(file);
    snapshot[path.relative(dir, file)] =
      `${bytes.length} ${createHash('sha256').update(bytes).digest('hex')}`;
  }
  return snapshot;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const GRAPHQL_TOKENS = [
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  'query',
  'mutation',
  'subscription',
  'fragment',
  'on',
  '...',
  '$v',
  '$',
  '!',
  '=',
  ':',
  '@include',
  '@skip(if: true)',
  '@defer',
  '"',
  '"""',
  '"\\u{D800}"',
  '"\\uD800"',
  '"\\x"',
  '"\\u12"',
  '#',
  '\n',
  '\u0000',
  '\uFEFF',
  'me',
  'devices',
  'profile',
  'sendMessage',
  '__typename',
  '__schema',
  '__type(name: "Query")',
  'zkServerPublicParams',
  '1',
  '-0',
  '1e999',
  '0x10',
  'true',
  'null',
  'Int!',
  '[String!]!',
];

/** Malformed or abusive GraphQL documents. */
const malformedDocument: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.constantFrom(...GRAPHQL_TOKENS), { maxLength: 60 }).map((t) => t.join(' ')),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.integer({ min: 13, max: 3000 }).map((n) => `${'{ me '.repeat(n)}${'}'.repeat(n)}`),
  fc
    .integer({ min: 13, max: 60 })
    .map(
      (n) => `{ __schema { types { ${'fields { type { '.repeat(n)}name${' } }'.repeat(n)} } } }`,
    ),
  fc
    .integer({ min: 16, max: 5000 })
    .map(
      (n) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: zkServerPublicParams`).join(' ')} }`,
    ),
  fc
    .integer({ min: 16, max: 400 })
    .map((n) => `{ ${Array.from({ length: n }, () => '__typename').join(' ')} }`),
  fc
    .integer({ min: 1, max: 2000 })
    .map((n) => `query { profile(serviceId: ${'['.repeat(n)}"x"${']'.repeat(n)}) { __typename } }`),
  fc
    .string({ unit: 'grapheme', maxLength: 80 })
    .map((s) => `{ profile(serviceId: "${s}") { __typename } }`),
  fc
    .string({ unit: 'binary', maxLength: 80 })
    .map((s) => `query Q($v: String = "${s}") { zkServerPublicParams }`),
  fc.constantFrom(
    'query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }',
    'query A { me { aci } } query A { me { aci } }',
    'query { me { aci aci: pni } }',
    '{ me { aci @include(if: "yes") } }',
    'subscription { envelopes { __typename } provisioning { __typename } }',
    'mutation { deleteAccount deleteAccount }',
    '{ __type(name: "Query") { fields { name args { name type { name } } } } }',
    '{ me { nope } }',
    '{ zkServerPublicParams(x: 1) }',
    'query ($a: Int!) { zkServerPublicParams }',
    '',
    '   ',
    '{',
    '"""unterminated',
  ),
);

/** Garbage of any JSON shape, and oversized strings. */
const garbage: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 300_000 }).map((n) => 'x'.repeat(n)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      Number.MAX_SAFE_INTEGER,
      -1,
      2 ** 31,
      1e308,
      -0,
      '',
      '\uD800',
      'PNI:',
      '===',
      [],
      {},
      { __proto__: null },
    ),
  },
);

const randomBytesArb = (max = 300) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ maxLength: max }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 300_000 }).map((n) => randomFill(n)) },
  );
const base64Arb = fc.oneof(
  { weight: 6, arbitrary: randomBytesArb().map((bytes) => b64(bytes)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '=', 'AAA', 'AA==AA', '-_-_', '!!!!', ' QQ==') },
);
const stringArb = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom('', 'PNI:', 'PNI:not-a-uuid', 'not-a-uuid', '+', '+1', '+999999999999999999'),
  fc.integer({ min: 0, max: 200_000 }).map((n) => '7'.repeat(n)),
);
const intArb = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -1, 1, 2, 6, 127, 128, 0x3fff, 0x4000, 2147483647, -2147483648),
);

/** Deterministic filler bytes (the arbitrary is seeded; the bytes need not be random). */
function randomFill(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 131 + 7) & 0xff;
  return bytes;
}

/** A random value of GraphQL input type `type` (passes variable coercion, mostly). */
function typedValue(type: GraphQLInputType, depth = 0): fc.Arbitrary<unknown> {
  if (type instanceof GraphQLNonNull) return typedValue(type.ofType as GraphQLInputType, depth);
  const orNull = (arbitrary: fc.Arbitrary<unknown>) =>
    fc.oneof({ weight: 8, arbitrary }, { weight: 1, arbitrary: fc.constant(null) });
  if (type instanceof GraphQLList) {
    return orNull(
      fc.array(typedValue(type.ofType as GraphQLInputType, depth + 1), {
        maxLength: depth > 1 ? 2 : 6,
      }),
    );
  }
  if (type instanceof GraphQLEnumType) {
    return orNull(fc.constantFrom(...type.getValues().map((value) => value.name)));
  }
  if (type instanceof GraphQLInputObjectType) {
    const fields = Object.values(type.getFields());
    return orNull(
      fc.record(
        Object.fromEntries(
          fields.map((field) => [field.name, typedValue(field.type, depth + 1)]),
        ) as Record<string, fc.Arbitrary<unknown>>,
        {
          requiredKeys: fields
            .filter((field) => field.type instanceof GraphQLNonNull)
            .map((field) => field.name),
        },
      ),
    );
  }
  if (type instanceof GraphQLScalarType) {
    switch (type.name) {
      case 'Int':
        return orNull(intArb);
      case 'Float':
        return orNull(
          fc.oneof(
            fc.double({ noNaN: true, noDefaultInfinity: true }),
            fc.constantFrom(0, -1, 0.5, 2 ** 53, 1e300),
          ),
        );
      case 'Timestamp':
        return orNull(fc.oneof(intArb, fc.constantFrom(Date.now(), 2 ** 53, -1, 1e20)));
      case 'Boolean':
        return orNull(fc.boolean());
      case 'Base64':
        return orNull(base64Arb);
      default:
        return orNull(stringArb);
    }
  }
  return garbage;
}

// ---------------------------------------------------------------------------------------------

describe(`fuzz (seed ${SEED}): malformed operations, variables, bytes and TUS requests`, () => {
  let platform: Platform;
  let storageDir: string;
  let alice: TestAccount;
  let bob: TestAccount;
  let aliceLinked: TestLinkedDevice;
  let aliceGroups: GroupUser;
  let group: GroupSecretParams;
  let partialUpload: { key: string; credential: string };
  let finishedUpload: { key: string; credential: string };
  let before: { database: Record<string, string>; files: Record<string, string> };
  const findings: Exchange[] = [];
  let requests = 0;
  const fields = rootFields();

  /** Sends one request, records it when its answer breaks a rule. */
  const exchange = async (
    what: string,
    url: string,
    init: RequestInit & { headers?: Record<string, string> },
    graphql: boolean,
  ): Promise<void> => {
    requests++;
    let status: number;
    let text: string;
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(20_000) });
      status = response.status;
      text = await response.text();
    } catch (error) {
      status = 599;
      text = `no answer: ${String(error)}`;
    }
    const problems = violations(status, text, graphql);
    if (problems.length > 0) {
      const body = init.body;
      findings.push({
        what: `${what}: ${problems.join(', ')}`,
        request: typeof body === 'string' ? body.slice(0, 600) : `<${String(init.method)} bytes>`,
        status,
        body: text.slice(0, 600),
      });
    }
  };

  const postJson = (what: string, url: string, body: unknown, headers: Record<string, string>) =>
    exchange(
      what,
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...headers,
        },
        body: JSON.stringify(body),
      },
      true,
    );

  /** Tokens a fuzzed request may carry. */
  const tokens = () => [
    undefined,
    alice.token,
    aliceLinked.token,
    bob.token,
    'garbage',
    `${alice.token.slice(0, -2)}xx`,
    'x'.repeat(10_000),
  ];
  const authorization = (token: string | undefined): Record<string, string> =>
    token === undefined ? {} : { authorization: `Bearer ${token}` };
  const isRealToken = (token: string | undefined) =>
    token === alice.token || token === aliceLinked.token || token === bob.token;
  const expectNoFindings = () => {
    const report = process.env['FUZZ_FINDINGS_FILE'];
    if (report && findings.length > 0) appendFileSync(report, `${JSON.stringify(findings)}\n`);
    expect(findings, `fuzz seed ${SEED}: ${JSON.stringify(findings.slice(0, 5), null, 2)}`).toEqual(
      [],
    );
  };

  beforeAll(async () => {
    storageDir = await mkdtemp(path.join(tmpdir(), 'courier-fuzz-attachments-'));
    platform = await startPlatform({ attachments: { storageDir } });
    alice = await registerTestAccount(platform, '+14155550301');
    bob = await registerTestAccount(platform, '+14155550302');
    aliceLinked = await linkTestDevice(platform, alice);
    aliceGroups = await GroupUser.create(platform, alice, await serverPublicParams(platform));
    group = GroupSecretParams.generate();
    expectData(
      await aliceGroups.request(CREATE_GROUP, {
        auth: aliceGroups.auth(group),
        group: b64(
          signal.Group.encode({
            publicKey: group.getPublicParams().serialize(),
            version: 0,
            title: encryptText(group, 'fuzz'),
            accessControl: {
              attributes: signal.AccessControl.AccessRequired.MEMBER,
              members: signal.AccessControl.AccessRequired.MEMBER,
              addFromInviteLink: signal.AccessControl.AccessRequired.UNSATISFIABLE,
            },
            members: [
              {
                role: signal.Member.Role.ADMINISTRATOR,
                presentation: aliceGroups.presentation(group),
              },
            ],
          }).finish(),
        ),
      }),
      'createGroup',
    );
    const upload = async (length: number, body?: Uint8Array<ArrayBuffer>) => {
      const form = expectData<{
        createAttachmentUploadForm: {
          key: string;
          uploadUrl: string;
          headers: { value: string }[];
        };
      }>(
        await postGraphQL(
          platform.gatewayUrl,
          'mutation ($n: Float!) { createAttachmentUploadForm(uploadLength: $n) { key uploadUrl headers { value } } }',
          { token: alice.token, variables: { n: length } },
        ),
        'createAttachmentUploadForm',
      ).createAttachmentUploadForm;
      const credential = form.headers[0]!.value.replace(/^Bearer /, '');
      const response = await fetch(form.uploadUrl, {
        method: 'POST',
        headers: {
          'Tus-Resumable': '1.0.0',
          authorization: `Bearer ${credential}`,
          'Upload-Length': String(length),
          ...(body ? { 'Content-Type': 'application/offset+octet-stream' } : {}),
        },
        ...(body ? { body } : {}),
      });
      expect(response.status).toBe(201);
      return { key: form.key, credential };
    };
    partialUpload = await upload(100);
    finishedUpload = await upload(16, new Uint8Array(randomBytes(16)));
    before = {
      database: await databaseFingerprint(platform.database.url, SCHEMAS),
      files: await filesSnapshot(storageDir),
    };
    expect(Object.keys(before.files)).not.toHaveLength(0);
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    if (storageDir) await rm(storageDir, { recursive: true, force: true });
  });

  it(
    'answers malformed documents and HTTP bodies with coded client errors',
    async () => {
      const documents = sample(
        fc.record({
          query: malformedDocument,
          variables: fc.option(garbage),
          token: fc.constantFrom(...tokens()),
        }),
        400,
        1,
      );
      const bodies = sample(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }).map((text) => ({ text, type: 'json' })),
          fc
            .array(fc.record({ query: malformedDocument }), { maxLength: 5 })
            .map((batch) => ({ text: JSON.stringify(batch), type: 'json' })),
          garbage.map((value) => ({ text: JSON.stringify({ query: value }), type: 'json' })),
          fc
            .record({ query: fc.constant('{ zkServerPublicParams }'), variables: garbage })
            .map((value) => ({ text: JSON.stringify(value), type: 'json' })),
          fc
            .record({
              query: fc.constant(
                'query A { zkServerPublicParams } query B { groupLimits { maxMembers } }',
              ),
              operationName: garbage,
              extensions: garbage,
            })
            .map((value) => ({ text: JSON.stringify(value), type: 'json' })),
          fc
            .tuple(
              malformedDocument,
              fc.constantFrom(
                'application/graphql',
                'text/plain',
                'multipart/form-data; boundary=x',
                'application/x-www-form-urlencoded',
                'application/json; charset=utf-16',
                '',
              ),
            )
            .map(([text, type]) => ({ text, type })),
        ),
        250,
        2,
      );
      const invalidUtf8 = sample(
        fc
          .uint8Array({ minLength: 1, maxLength: 200 })
          .map((bytes) =>
            Buffer.concat([
              Buffer.from('{"query":"{ profile(serviceId: \\"'),
              Buffer.from(bytes.map((b) => b | 0x80)),
              Buffer.from('\\") { __typename } }"}'),
            ]),
          ),
        80,
        3,
      );
      const url = platform.gatewayUrl;
      await runAll(documents, CONCURRENCY, (doc) =>
        postJson('malformed document', url, doc, authorization(doc.token)),
      );
      await runAll(bodies, CONCURRENCY, (body) =>
        exchange(
          'malformed body',
          url,
          {
            method: 'POST',
            headers: { 'content-type': body.type === 'json' ? 'application/json' : body.type },
            body: body.text,
          },
          true,
        ),
      );
      await runAll(invalidUtf8, CONCURRENCY, (bytes) =>
        exchange(
          'invalid UTF-8',
          url,
          { method: 'POST', headers: { 'content-type': 'application/json' }, body: bytes },
          true,
        ),
      );
      await runAll(documents.slice(0, 80), CONCURRENCY, (doc) =>
        exchange(
          'GET document',
          `${url}?query=${encodeURIComponent(doc.query.slice(0, 4000))}`,
          { method: 'GET', headers: { accept: 'application/json' } },
          true,
        ),
      );
      await exchange(
        'oversized body',
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: `{ zkServerPublicParams } #${'x'.repeat(2_000_000)}` }),
        },
        true,
      );
      expectNoFindings();
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'answers every root field of the supergraph with random and wrong-typed variables',
    async () => {
      const calls = sample(
        fc
          .record({
            field: fc.constantFrom(...fields),
            typed: fc.boolean(),
            token: fc.constantFrom(...tokens()),
          })
          .chain(({ field, typed, token }) =>
            fc
              .tuple(
                ...field.args.map((arg) =>
                  arg.name === 'waitSeconds'
                    ? fc.constantFrom(-1, 0, 3600, null)
                    : typed
                      ? typedValue(arg.type)
                      : garbage,
                ),
              )
              .map((values) => ({
                field,
                token:
                  isRealToken(token) && CHANGES_OWN_STATE.has(field.id) ? 'not-a-token' : token,
                variables: Object.fromEntries(field.args.map((arg, i) => [arg.name, values[i]])),
              })),
          ),
        1500,
        4,
      );
      await runAll(calls, CONCURRENCY, (call) =>
        postJson(
          call.field.id,
          platform.gatewayUrl,
          { query: operationFor(call.field), variables: call.variables },
          authorization(call.token),
        ),
      );
      expect(new Set(calls.map((call) => call.field.id)).size).toBe(fields.length);
      expectNoFindings();
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'refuses random bytes where keys, protobufs, ciphertexts and presentations go',
    async () => {
      const signedKey = fc.record({
        keyId: intArb,
        publicKey: randomBytesArb(2000).map(b64),
        signature: randomBytesArb(100).map(b64),
      });
      const realAuth = () => aliceGroups.auth(group);
      const cases: fc.Arbitrary<{
        what: string;
        query: string;
        variables: object;
        token?: string;
      }> = fc.oneof(
        fc
          .record({
            identity: fc.constantFrom('ACI', 'PNI'),
            ec: fc.array(fc.record({ keyId: intArb, publicKey: randomBytesArb(40).map(b64) }), {
              maxLength: 3,
            }),
            kyber: fc.array(signedKey, { maxLength: 2 }),
            signed: signedKey,
            lastResort: fc.option(signedKey, { nil: undefined }),
            token: fc.constantFrom(alice.token, aliceLinked.token),
          })
          .map((c) => ({
            what: 'setPreKeys',
            query: `mutation ($i: IdentityType!, $input: SetPreKeysInput!) { setPreKeys(identity: $i, input: $input) }`,
            // Always with a random signed prekey: its signature cannot verify, so nothing is stored.
            variables: {
              i: c.identity,
              input: {
                ecPreKeys: c.ec,
                kyberPreKeys: c.kyber,
                signedPreKey: c.signed,
                ...(c.lastResort ? { pqLastResortPreKey: c.lastResort } : {}),
              },
            },
            token: c.token,
          })),
        fc
          .record({ digest: randomBytesArb(64).map(b64), identity: fc.constantFrom('ACI', 'PNI') })
          .map((c) => ({
            what: 'checkPreKeys',
            query:
              'query ($i: IdentityType!, $d: Base64!) { checkPreKeys(identity: $i, digest: $d) }',
            variables: { i: c.identity, d: c.digest },
            token: bob.token,
          })),
        fc
          .record({
            uak: randomBytesArb(32).map(b64),
            device: fc.option(intArb, { nil: undefined }),
          })
          .map((c) => ({
            what: 'preKeyBundle with a random access key',
            query:
              'mutation ($s: String!, $d: Int, $a: KeyAccess) { preKeyBundle(serviceId: $s, deviceId: $d, access: $a) { __typename } }',
            variables: { s: alice.aci, d: c.device, a: { unidentifiedAccessKey: c.uak } },
          })),
        fc
          .record({
            payload: randomBytesArb(3000),
            token: fc.option(randomBytesArb(200).map(b64), { nil: undefined }),
            uak: fc.option(randomBytesArb(20).map(b64), { nil: undefined }),
            story: fc.boolean(),
            online: fc.boolean(),
          })
          .map((c) => ({
            what: 'sendMultiRecipientMessage',
            query: `mutation ($p: Base64!, $t: Timestamp!, $s: Boolean, $o: Boolean, $g: Base64, $a: MessageAccess) {
              sendMultiRecipientMessage(payload: $p, timestamp: $t, story: $s, online: $o, groupSendToken: $g, access: $a) { __typename } }`,
            variables: {
              p: b64(c.payload),
              t: Date.now(),
              s: c.story,
              o: c.online,
              g: c.token,
              ...(c.uak ? { a: { unidentifiedAccessKey: c.uak } } : {}),
            },
          })),
        fc
          .record({
            content: randomBytesArb(2000),
            type: fc.constantFrom(
              'CIPHERTEXT',
              'PREKEY_BUNDLE',
              'UNIDENTIFIED_SENDER',
              'PLAINTEXT_CONTENT',
            ),
            devices: fc.array(fc.record({ deviceId: intArb, registrationId: intArb }), {
              maxLength: 4,
            }),
            sealed: fc.option(randomBytesArb(20).map(b64), { nil: undefined }),
          })
          .map((c) => ({
            what: 'sendMessage of random ciphertext',
            query: `mutation ($d: String!, $i: SendMessageInput!, $a: MessageAccess) {
              sendMessage(destination: $d, input: $i, access: $a) { __typename } }`,
            // Online-only: never stored, so even an accepted send leaves no state behind.
            variables: {
              d: alice.aci,
              i: {
                timestamp: Date.now(),
                online: true,
                messages: c.devices.map((device) => ({
                  ...device,
                  type: c.type,
                  content: b64(c.content),
                })),
              },
              ...(c.sealed ? { a: { unidentifiedAccessKey: c.sealed } } : {}),
            },
            ...(c.sealed ? {} : { token: bob.token }),
          })),
        fc
          .record({ publicParams: randomBytesArb(400), presentation: randomBytesArb(1000) })
          .map((c) => ({
            what: 'group with a random presentation',
            query: 'query ($a: GroupAuth!) { group(auth: $a) { __typename } }',
            variables: {
              a: { publicParams: b64(c.publicParams), presentation: b64(c.presentation) },
            },
          })),
        fc
          .record({ flip: fc.nat(), field: fc.constantFrom('publicParams', 'presentation') })
          .map((c) => {
            const auth = realAuth();
            const bytes = Buffer.from(auth[c.field as keyof typeof auth], 'base64');
            const at = c.flip % bytes.length;
            bytes.writeUInt8(bytes.readUInt8(at) ^ (1 << (c.flip % 8)), at);
            return {
              what: 'group with a flipped bit',
              query: 'query ($a: GroupAuth!) { group(auth: $a) { __typename } }',
              variables: { a: { ...auth, [c.field]: b64(bytes) } },
            };
          }),
        fc
          .record({
            actions: randomBytesArb(500),
            password: fc.option(randomBytesArb(40).map(b64), { nil: undefined }),
          })
          .map((c) => ({
            what: 'modifyGroup with random actions',
            query: `mutation ($a: GroupAuth!, $x: Base64!, $p: Base64) {
              modifyGroup(auth: $a, actions: $x, inviteLinkPassword: $p) { __typename } }`,
            variables: { a: realAuth(), x: b64(c.actions), p: c.password },
          })),
        fc.record({ state: randomBytesArb(800) }).map((c) => ({
          what: 'createGroup with random state',
          query: `mutation ($a: GroupAuth!, $g: Base64!) { createGroup(auth: $a, group: $g) { __typename } }`,
          variables: { a: realAuth(), g: b64(c.state) },
        })),
        fc
          .record({
            from: intArb,
            limit: fc.option(intArb, { nil: undefined }),
            password: randomBytesArb(40),
          })
          .chain((c) =>
            fc.constantFrom(
              {
                what: 'groupChanges',
                query:
                  'query ($a: GroupAuth!, $f: Int!, $l: Int) { groupChanges(auth: $a, fromVersion: $f, limit: $l) { __typename } }',
                variables: { a: realAuth(), f: c.from, l: c.limit },
              },
              {
                what: 'groupJoinInfo',
                query:
                  'query ($a: GroupAuth!, $p: Base64) { groupJoinInfo(auth: $a, inviteLinkPassword: $p) { __typename } }',
                variables: { a: realAuth(), p: b64(c.password) },
              },
            ),
          ),
        fc
          .record({
            version: fc.oneof(
              fc.string(),
              fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), maxLength: 64 }),
            ),
            request: randomBytesArb(600).map(b64),
            uak: fc.option(randomBytesArb(20).map(b64), { nil: undefined }),
          })
          .map((c) => ({
            what: 'profile with a random credential request',
            query: `query ($s: String!, $v: String, $r: Base64, $a: ProfileAccess) {
              profile(serviceId: $s, version: $v, credentialRequest: $r, access: $a) { __typename } }`,
            variables: {
              s: alice.aci,
              v: c.version,
              r: c.request,
              ...(c.uak ? { a: { unidentifiedAccessKey: c.uak } } : {}),
            },
            ...(c.uak ? {} : { token: bob.token }),
          })),
        fc.record({ address: stringArb, body: randomBytesArb(3000).map(b64) }).map((c) => ({
          what: 'sendProvisioningMessage',
          query:
            'mutation ($a: String!, $b: Base64!) { sendProvisioningMessage(address: $a, body: $b) }',
          variables: { a: c.address, b: c.body },
          token: alice.token,
        })),
        fc
          .record({ keys: fc.tuple(signedKey, signedKey, signedKey, signedKey), code: stringArb })
          .map((c) => ({
            what: 'linkDevice with random keys',
            query: 'mutation ($i: LinkDeviceInput!) { linkDevice(input: $i) { __typename } }',
            variables: {
              i: {
                code: c.code,
                password: 'fuzz-password-0123456789',
                registrationId: 1,
                pniRegistrationId: 2,
                aciSignedPreKey: c.keys[0],
                pniSignedPreKey: c.keys[1],
                aciPqLastResortPreKey: c.keys[2],
                pniPqLastResortPreKey: c.keys[3],
              },
            },
          })),
        fc.array(fc.oneof(fc.uuid(), stringArb), { maxLength: 150 }).map((guids) => ({
          what: 'acknowledgeEnvelopes',
          query: 'mutation ($g: [ID!]!) { acknowledgeEnvelopes(guids: $g) }',
          variables: { g: guids },
          token: bob.token,
        })),
      );
      const requestsOf = sample(cases, 800, 5);
      await runAll(requestsOf, CONCURRENCY, (c) =>
        postJson(
          c.what,
          platform.gatewayUrl,
          { query: c.query, variables: c.variables },
          authorization(c.token),
        ),
      );
      expectNoFindings();
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'answers random TUS requests on the public upload routes without a server error',
    async () => {
      const base = `${platform.attachments.publicUrl}/attachments`;
      const credentials = [
        undefined,
        partialUpload.credential,
        finishedUpload.credential,
        'garbage',
        `${partialUpload.credential.slice(0, -3)}AAA`,
      ];
      const tusCases = sample(
        fc.record({
          method: fc.constantFrom('POST', 'PATCH', 'HEAD', 'DELETE', 'GET', 'OPTIONS', 'PUT'),
          target: fc.constantFrom(
            '',
            `/${partialUpload.key}`,
            `/${finishedUpload.key}`,
            '/AAAAAAAAAAAAAAAAAAAA',
            '/..%2F..%2Fetc%2Fpasswd',
            '/%00',
            `/${partialUpload.key}/extra`,
            `/${'a'.repeat(5000)}`,
          ),
          credential: fc.constantFrom(...credentials),
          tusResumable: fc.option(fc.constantFrom('1.0.0', '0.2.2', '', 'x'), { nil: undefined }),
          uploadLength: fc.option(
            fc.oneof(
              fc.string({ maxLength: 20 }),
              intArb.map(String),
              fc.constantFrom('100', '16', '1e3', '-1', '99999999999999999999'),
            ),
            { nil: undefined },
          ),
          uploadOffset: fc.option(
            fc.oneof(
              fc.string({ maxLength: 20 }),
              fc.integer({ min: 1 }).map(String),
              fc.constantFrom('-1', '1e2', '100', '16'),
            ),
            { nil: undefined },
          ),
          contentType: fc.option(
            fc.constantFrom('application/offset+octet-stream', 'text/plain', 'application/json'),
            { nil: undefined },
          ),
          extra: fc.dictionary(
            fc.constantFrom(
              'Upload-Defer-Length',
              'Upload-Concat',
              'Upload-Metadata',
              'Range',
              'If-Range',
              'If-None-Match',
              'X-HTTP-Method-Override',
              'Content-Length',
            ),
            fc.oneof(
              fc.string({ maxLength: 30 }),
              fc.constantFrom(
                '1',
                'final;/attachments/x',
                'bytes=0-',
                'bytes=5-1',
                'bytes=-99999',
                'filename dGVzdA==',
                'DELETE',
              ),
            ),
          ),
          body: fc.option(randomBytesArb(400), { nil: undefined }),
        }),
        1000,
        6,
      );
      await runAll(tusCases, CONCURRENCY, async (c) => {
        const headers: Record<string, string> = {};
        if (c.tusResumable !== undefined) headers['Tus-Resumable'] = c.tusResumable;
        if (c.credential !== undefined) headers['authorization'] = `Bearer ${c.credential}`;
        if (c.uploadLength !== undefined) headers['Upload-Length'] = c.uploadLength;
        if (c.uploadOffset !== undefined) headers['Upload-Offset'] = c.uploadOffset;
        if (c.contentType !== undefined) headers['Content-Type'] = c.contentType;
        for (const [name, value] of Object.entries(c.extra)) {
          if (name !== 'Content-Length' && name !== 'X-HTTP-Method-Override') headers[name] = value;
        }
        const ownsPartial = c.credential === partialUpload.credential;
        // The legitimate moves on the partial upload (append at its offset 0, terminate) would
        // change state by design; fuzz them only in forms TUS must refuse.
        if (ownsPartial && c.method === 'PATCH')
          headers['Upload-Offset'] = `1${c.uploadOffset ?? ''}`;
        if (ownsPartial && c.method === 'DELETE') delete headers['authorization'];
        const withBody = c.body !== undefined && !['GET', 'HEAD', 'OPTIONS'].includes(c.method);
        if (c.method === 'HEAD' && c.target === '' && withBody) return;
        await exchange(
          `TUS ${c.method} ${c.target.slice(0, 40)}`,
          `${base}${c.target}`,
          {
            method: c.method,
            headers,
            ...(withBody ? { body: new Uint8Array(c.body!) } : {}),
          },
          false,
        );
      });
      expectNoFindings();
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'answers random graphql-ws traffic on the gateway with coded errors',
    async () => {
      const message = fc.oneof(
        fc
          .record({
            payload: fc.option(
              fc.oneof(
                garbage,
                fc.constantFrom(...tokens()).map((t) => ({ authorization: `Bearer ${t}` })),
              ),
            ),
          })
          .map((m) => JSON.stringify({ type: 'connection_init', ...m })),
        fc
          .record({
            id: fc.oneof(fc.constantFrom('1', '2', ''), fc.string({ maxLength: 8 })),
            query: fc.oneof(
              malformedDocument,
              fc.constantFrom(...fields).map((field) => operationFor(field)),
            ),
            variables: fc.option(garbage),
          })
          .map(({ id, ...payload }) => JSON.stringify({ type: 'subscribe', id, payload })),
        fc
          .record({
            type: fc.constantFrom('complete', 'ping', 'pong', 'next', 'error', 'nope'),
            id: garbage,
            payload: garbage,
          })
          .map((m) => JSON.stringify(m)),
        garbage.map((value) => JSON.stringify(value)),
        fc.string({ unit: 'binary', maxLength: 100 }),
      );
      const init = fc.constantFrom(...tokens()).map((token) =>
        JSON.stringify({
          type: 'connection_init',
          payload: token === undefined ? {} : { authorization: `Bearer ${token}` },
        }),
      );
      // Mostly a proper init first, so that what follows reaches the operation handling.
      const sessions = sample(
        fc
          .tuple(
            fc.oneof({ weight: 4, arbitrary: init }, message),
            fc.array(message, { maxLength: 5 }),
          )
          .map(([first, rest]) => [first, ...rest]),
        300,
        8,
      );
      let answered = 0;
      /**
       * Sends `messages` and reads until every subscription it started was answered (or, with
       * none, until the pong of a final ping) or until the server closed the socket.
       */
      const session = (messages: readonly string[]) =>
        new Promise<void>((resolve) => {
          requests++;
          const socket = new WebSocket(platform.gatewayWsUrl, 'graphql-transport-ws');
          const finish = (problem?: string, detail = '') => {
            clearTimeout(guard);
            if (problem) {
              findings.push({
                what: `graphql-ws: ${problem}`,
                request: JSON.stringify(messages).slice(0, 600),
                status: 0,
                body: detail.slice(0, 600),
              });
            }
            socket.removeAllListeners();
            socket.on('error', () => undefined);
            socket.terminate();
            resolve();
          };
          const guard = setTimeout(() => finish('no answer and no close within 10 s'), 10_000);
          const pending = new Set<string>();
          for (const text of messages) {
            try {
              const sent = JSON.parse(text) as { type?: unknown; id?: unknown } | null;
              if (typeof sent?.id !== 'string') continue;
              if (sent.type === 'subscribe') pending.add(sent.id);
              if (sent.type === 'complete') pending.delete(sent.id);
            } catch {
              // not JSON: the server closes the socket
            }
          }
          // After a connection_init, the rest waits for the ack (the server refuses it earlier).
          const initFirst = messages[0]!.includes('"connection_init"');
          const sendRest = () => {
            for (const text of messages.slice(initFirst ? 1 : 0)) socket.send(text);
            if (pending.size === 0) socket.send(JSON.stringify({ type: 'ping' }));
          };
          socket.on('open', () => (initFirst ? socket.send(messages[0]!) : sendRest()));
          socket.on('message', (data: WebSocket.RawData) => {
            const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
            let parsed: { type?: string; id?: unknown; payload?: unknown };
            try {
              parsed = JSON.parse(text) as typeof parsed;
            } catch {
              return finish('a message that is not JSON', text);
            }
            if (parsed.type === 'connection_ack' && initFirst) return sendRest();
            if (parsed.type === 'pong' && pending.size === 0) return finish();
            const errors =
              parsed.type === 'error'
                ? parsed.payload
                : parsed.type === 'next'
                  ? (parsed.payload as { errors?: unknown } | undefined)?.errors
                  : undefined;
            if (parsed.type === 'complete' && typeof parsed.id === 'string') {
              pending.delete(parsed.id);
              if (pending.size === 0) finish();
            }
            if (errors === undefined) return;
            answered++;
            const problems = violations(200, JSON.stringify({ errors }), true);
            if (problems.length > 0) return finish(problems.join(', '), text);
            if (typeof parsed.id === 'string') pending.delete(parsed.id);
            if (pending.size === 0) finish();
          });
          socket.on('close', (code: number, reason: Buffer) => {
            const serverError = code === 1011 || code === 4500;
            finish(serverError ? `closed ${code}` : undefined, reason.toString('utf8'));
          });
          socket.on('error', () => finish());
        });
      await runAll(sessions, CONCURRENCY, session);
      expect(answered, 'graphql-ws answers with errors').toBeGreaterThan(0);
      expectNoFindings();
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'answers fuzzed requests sent straight to the subgraphs with the router secret',
    async () => {
      const subgraphs = Object.values(platform.subgraphs);
      const calls = sample(
        fc.record({
          subgraph: fc.constantFrom(...subgraphs.map((server) => server.url)),
          query: fc.oneof(
            malformedDocument,
            fc.constantFrom(...fields).map((field) => operationFor(field)),
            fc.constantFrom(
              '{ _service { sdl } }',
              '{ _entities(representations: [{ __typename: "Account", aci: "x" }]) { __typename } }',
              'query ($r: [_Any!]!) { _entities(representations: $r) { __typename } }',
            ),
          ),
          variables: fc.option(
            fc.dictionary(fc.constantFrom('r', 'input', 'id', 'auth', 'x'), garbage),
          ),
          token: fc.constantFrom(...tokens()),
          secret: fc.constantFrom('right', 'wrong', 'none'),
        }),
        600,
        7,
      );
      await runAll(calls, CONCURRENCY, (call) => {
        const mutation = /^\s*mutation/.test(call.query);
        const token = mutation && isRealToken(call.token) ? 'garbage' : call.token;
        return postJson(
          'subgraph',
          call.subgraph,
          { query: call.query, variables: call.variables },
          {
            ...authorization(token),
            ...(call.secret === 'none'
              ? {}
              : { 'x-router-secret': call.secret === 'right' ? platform.routerSecret : 'nope' }),
          },
        );
      });
      for (const server of subgraphs) {
        await exchange(
          'malformed JSON to a subgraph',
          server.url,
          {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-router-secret': platform.routerSecret,
            },
            body: '{"query": "{ __typename }"',
          },
          false,
        );
        await exchange(
          'internal route without the router secret',
          `${new URL(server.url).origin}/internal/anything`,
          { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' },
          false,
        );
      }
      expectNoFindings();
    },
    FUZZ_TIMEOUT_MS,
  );

  it('regressions: coded answers where the fuzz found uncoded ones', async () => {
    const codes = (body: { errors?: { extensions?: { code?: unknown } }[] }) =>
      body.errors?.map((error) => error.extensions?.code);
    // A request the gateway accepts (under its 1.25 MiB limit) but over the subgraphs' old 1 MiB
    // body limit: the subgraph answered an HTML 413 and the gateway an INTERNAL error.
    const big = await postGraphQL(
      platform.gatewayUrl,
      'mutation ($a: String!, $b: Base64!) { sendProvisioningMessage(address: $a, body: $b) }',
      { token: alice.token, variables: { a: 'x'.repeat(600_000), b: b64(randomFill(400_000)) } },
    );
    expect(big.status).toBeLessThan(500);
    expect(['BAD_USER_INPUT', 'PAYLOAD_TOO_LARGE']).toContain(codes(big.body)?.[0]);
    const secret = { 'x-router-secret': platform.routerSecret };
    const tooLarge = await postGraphQL(
      platform.subgraphs.accounts.url,
      `{ zkServerPublicParams } #${'x'.repeat(5 * 1024 * 1024)}`,
      { headers: secret },
    );
    expect([tooLarge.status, codes(tooLarge.body)]).toEqual([413, ['PAYLOAD_TOO_LARGE']]);
    const subscription = await postGraphQL(
      platform.subgraphs.groups.url,
      'subscription { envelopes { __typename } }',
      { headers: secret },
    );
    expect([subscription.status, codes(subscription.body)]).toEqual([400, ['BAD_USER_INPUT']]);
    const entities = await postGraphQL(
      platform.subgraphs.keys.url,
      'query ($r: [_Any!]!) { _entities(representations: $r) { __typename } }',
      { headers: secret, variables: { r: ['x', { __typename: 'Nope' }] } },
    );
    expect(codes(entities.body)).toEqual(['BAD_USER_INPUT']);
    // A client sending a server-only message type: graphql-ws closed with 4500 (internal error).
    const socket = new WebSocket(platform.gatewayWsUrl, 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) =>
      socket.on('close', (code: number) => resolve(code)),
    );
    socket.on('open', () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      socket.send(JSON.stringify({ type: 'next', id: '1', payload: { data: null } }));
    });
    expect(await closed).toBe(4400);
  });

  it('keeps every process up and the stored state as the setup left it', async () => {
    for (const server of Object.values(platform.subgraphs)) {
      expect((await fetch(`${new URL(server.url).origin}/health`)).status).toBe(200);
    }
    expect((await fetch(`${new URL(platform.gatewayUrl).origin}/healthcheck`)).status).toBe(200);
    expect(
      (await postGraphQL(platform.gatewayUrl, '{ me { aci } }', { token: alice.token })).body.data,
    ).toEqual({ me: { aci: alice.aci } });
    expect(await databaseFingerprint(platform.database.url, SCHEMAS)).toEqual(before.database);
    expect(await filesSnapshot(storageDir)).toEqual(before.files);
    expect(requests, `fuzz seed ${SEED}`).toBeGreaterThan(4500);
  });
});
