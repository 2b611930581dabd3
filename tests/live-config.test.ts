import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  PRE_KEY_BUNDLE_FIELDS,
  postGraphQL,
  registerTestAccount,
  startPlatform,
  type Platform,
} from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const BUNDLE = `mutation ($id: String!) { preKeyBundle(serviceId: $id, deviceId: 1) {
  ${PRE_KEY_BUNDLE_FIELDS} } }`;
const ORIGIN = 'https://app.example.com';

describe('live configuration', () => {
  let platform: Platform;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'courier-live-'));
    file = path.join(dir, 'live.json');
    await writeFile(file, '{}');
    platform = await startPlatform({ liveConfigFile: file });
  });
  afterAll(async () => {
    await platform?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('changes a rate limit, the CORS origins and the log level without a restart', async () => {
    const [alice, bob, carol] = [
      await registerTestAccount(platform, '+14155571001'),
      await registerTestAccount(platform, '+14155571002'),
      await registerTestAccount(platform, '+14155571003'),
    ];
    const fetchBundle = async (target: string) =>
      (
        await postGraphQL(platform.gatewayUrl, BUNDLE, {
          token: alice.token,
          variables: { id: target },
        })
      ).body.errors?.[0]?.extensions?.['code'] ?? 'OK';
    const corsHeader = async () =>
      (
        await fetch(platform.gatewayUrl, {
          method: 'POST',
          headers: { origin: ORIGIN, 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ __typename }' }),
        })
      ).headers.get('access-control-allow-origin');
    const limits = platform.runtime.limits;
    const startLevel = platform.runtime.logger.level;
    expect(limits.config('prekeys').capacity).toBe(6);
    expect(await corsHeader()).toBeNull();

    await writeFile(
      file,
      JSON.stringify({
        logLevel: 'error',
        rateLimits: { prekeys: { capacity: 1 } },
        corsOrigins: [ORIGIN],
      }),
    );
    await vi.waitFor(() => expect(limits.config('prekeys').capacity).toBe(1), { timeout: 10_000 });
    expect(await fetchBundle(bob.aci)).toBe('OK');
    expect(await fetchBundle(bob.aci)).toBe('RATE_LIMITED');
    expect(platform.runtime.logger.level).toBe('error');
    await vi.waitFor(async () => expect(await corsHeader()).toBe(ORIGIN), { timeout: 10_000 });

    // A bad file is refused and changes nothing.
    await writeFile(file, JSON.stringify({ rateLimits: { noSuchBucket: { capacity: 1 } } }));
    await platform.runtime.liveConfig!.reload();
    expect(limits.config('prekeys').capacity).toBe(1);
    await writeFile(file, '{ not json');
    await platform.runtime.liveConfig!.reload();
    expect(limits.config('prekeys').capacity).toBe(1);

    // Dropping the keys returns to the start-up settings.
    await writeFile(file, '{}');
    await vi.waitFor(() => expect(limits.config('prekeys').capacity).toBe(6), { timeout: 10_000 });
    expect(await fetchBundle(carol.aci)).toBe('OK');
    expect(await fetchBundle(carol.aci)).toBe('OK');
    expect(platform.runtime.logger.level).toBe(startLevel);
    await vi.waitFor(async () => expect(await corsHeader()).toBeNull(), { timeout: 10_000 });
  });
});
