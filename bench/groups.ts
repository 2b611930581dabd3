import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { Aci, Pni } from '@signalapp/libsignal-client/dist/Address.js';
import {
  ClientZkAuthOperations,
  ClientZkGroupCipher,
  ClientZkProfileOperations,
  GroupSecretParams,
  ProfileKey,
  ServerZkAuthOperations,
  ServerZkProfileOperations,
} from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import { signal } from '@courier/proto';
import { postGraphQL, startPlatform } from '@courier/testing';
import { closedLoop, report, writeResults } from './load.ts';

/**
 * The groups subgraph through the gateway: creating a group of 100 and of 1000 members (one
 * profile key credential presentation verified per member), reading the 1000-member group (auth
 * presentation verified, endorsements for 1000 members: issued once per version, then reused),
 * and changing its title (presentation verified, change signed, state and log written in one
 * version-guarded transaction). Baseline in the same run: the public `groupLimits` query.
 * Credentials are issued in-process with the platform's zkgroup params (the accounts path is
 * measured elsewhere). Bounded by request counts. Writes `bench/results/groups.json`.
 */
const READS = Number(process.env['BENCH_REQUESTS'] ?? 400);
const CHANGES = Number(process.env['BENCH_CHANGES'] ?? 150);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 4);
const DAY_S = 86_400;

const platform = await startPlatform();
const params = platform.runtime.zkSecretParams;
const publicParams = params.getPublicParams();
const today = Math.floor(Date.now() / 1000 / DAY_S) * DAY_S;
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** A synthetic member: an expiring profile key credential straight from the server params. */
function member() {
  const aci = Aci.fromUuid(randomUUID());
  const profileKey = new ProfileKey(new Uint8Array(randomBytes(32)));
  const client = new ClientZkProfileOperations(publicParams);
  const context = client.createProfileKeyCredentialRequestContext(aci, profileKey);
  const response = new ServerZkProfileOperations(params).issueExpiringProfileKeyCredential(
    context.getRequest(),
    aci,
    profileKey.getCommitment(aci),
    today + 7 * DAY_S,
  );
  return { aci, credential: client.receiveExpiringProfileKeyCredential(context, response) };
}

const admin = member();
const pni = Pni.fromUuid(randomUUID());
const authCredential = new ClientZkAuthOperations(
  publicParams,
).receiveAuthCredentialWithPniAsServiceId(
  admin.aci,
  pni,
  today,
  new ServerZkAuthOperations(params).issueAuthCredentialWithPniZkc(admin.aci, pni, today),
);
const authFor = (secret: GroupSecretParams) => ({
  publicParams: b64(secret.getPublicParams().serialize()),
  presentation: b64(
    new ClientZkAuthOperations(publicParams)
      .createAuthCredentialWithPniPresentation(secret, authCredential)
      .serialize(),
  ),
});

async function post(query: string, variables: Record<string, unknown>) {
  const { body } = await postGraphQL(platform.gatewayUrl, query, { variables });
  if (body.errors) throw new Error(`benchmark request failed: ${JSON.stringify(body.errors)}`);
  return body.data as Record<string, { version: number }>;
}

async function createGroup(size: number) {
  const secret = GroupSecretParams.generate();
  const profiles = new ClientZkProfileOperations(publicParams);
  const presentation = (m: ReturnType<typeof member>) =>
    profiles.createExpiringProfileKeyCredentialPresentation(secret, m.credential).serialize();
  const members = Array.from({ length: size - 1 }, member);
  const group = signal.Group.encode({
    publicKey: secret.getPublicParams().serialize(),
    title: new ClientZkGroupCipher(secret).encryptBlob(new Uint8Array(Buffer.from('bench'))),
    accessControl: {
      attributes: signal.AccessControl.AccessRequired.MEMBER,
      members: signal.AccessControl.AccessRequired.MEMBER,
      addFromInviteLink: signal.AccessControl.AccessRequired.UNSATISFIABLE,
    },
    members: [
      { role: signal.Member.Role.ADMINISTRATOR, presentation: presentation(admin) },
      ...members.map((m) => ({ role: signal.Member.Role.DEFAULT, presentation: presentation(m) })),
    ],
  }).finish();
  const started = performance.now();
  await post(
    'mutation ($a: GroupAuth!, $g: Base64!) { createGroup(auth: $a, group: $g) { version } }',
    { a: authFor(secret), g: b64(group) },
  );
  const ms = Number((performance.now() - started).toFixed(1));
  console.log(`createGroup, ${size} members`.padEnd(34), `${ms} ms  (${group.length} bytes)`);
  return { secret, ms, bytes: group.length };
}

const small = await createGroup(100);
const large = await createGroup(1000);
const auth = authFor(large.secret);

const baseline = await closedLoop(
  'groupLimits (baseline)',
  { requests: READS, concurrency: CONCURRENCY },
  async () => void (await post('{ groupLimits { maxMembers } }', {})),
);
report(baseline);
const reads = await closedLoop(
  'group, 1000 members + endorsements',
  { requests: READS, concurrency: CONCURRENCY },
  async () =>
    void (await post(
      'query ($a: GroupAuth!) { group(auth: $a) { version groupSendEndorsements { expiresAt } } }',
      { a: auth },
    )),
);
report(reads);
const cipher = new ClientZkGroupCipher(large.secret);
const changes = await closedLoop(
  'modifyGroup title, 1000 members',
  { requests: CHANGES, concurrency: 1 },
  async (i) =>
    void (await post(
      'mutation ($a: GroupAuth!, $c: Base64!) { modifyGroup(auth: $a, actions: $c) { version } }',
      {
        a: auth,
        c: b64(
          signal.GroupChange.Actions.encode({
            version: i + 1,
            modifyTitle: { title: cipher.encryptBlob(new Uint8Array(Buffer.from(`title ${i}`))) },
          }).finish(),
        ),
      },
    )),
);
report(changes);

await writeResults('groups', {
  createGroup100Ms: small.ms,
  createGroup1000Ms: large.ms,
  createGroup1000Bytes: large.bytes,
  baseline,
  reads,
  readsVsBaseline: Number((reads.perSecond / baseline.perSecond).toFixed(2)),
  changes,
  concurrency: CONCURRENCY,
  loadAverage1m: Number(loadavg()[0]!.toFixed(1)),
});
await platform.stop();
