import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { AuthenticatedDevice, RequestAuth } from '@courier/auth';
import { ErrorCode } from '@courier/errors';
import { Aci } from '@signalapp/libsignal-client/dist/Address.js';
import {
  ClientZkProfileOperations,
  ExpiringProfileKeyCredentialResponse,
  ProfileKey,
  ServerSecretParams,
} from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { StubAvatarUploadForms } from './avatar-upload.ts';
import type {
  AvatarWrite,
  ProfileOwner,
  ProfileRecord,
  ProfileStore,
  SaveVersionResult,
} from './repository.ts';
import {
  ProfileService,
  profileKeyCredentialExpiration,
  unidentifiedAccessChecksum,
  type IsBlocked,
} from './service.ts';
import type { SetProfileInput, ValidProfileWrite } from './validation.ts';

const DAY_MS = 86_400_000;
const bytes = (length: number) => new Uint8Array(randomBytes(length));

class MemoryProfileStore implements ProfileStore {
  readonly owners = new Map<string, ProfileOwner>();
  readonly profiles = new Map<string, ProfileRecord>();
  writes = 0;

  saveVersion(aci: string, write: ValidProfileWrite, avatar: AvatarWrite) {
    this.writes++;
    if (!this.owners.has(aci)) return Promise.resolve<SaveVersionResult>({ kind: 'no-account' });
    const key = `${aci}/${write.version}`;
    const current = this.profiles.get(key);
    if (current && Buffer.compare(current.commitment, write.commitment) !== 0) {
      return Promise.resolve<SaveVersionResult>({ kind: 'commitment-mismatch' });
    }
    const stored = avatar.kind === 'keep' ? (current?.avatar ?? null) : avatar.key;
    this.profiles.set(key, { aci, ...write, avatar: stored, updatedAt: new Date() });
    return Promise.resolve<SaveVersionResult>({ kind: 'saved', avatar: stored });
  }

  findVersion(aci: string, version: string) {
    return Promise.resolve(this.profiles.get(`${aci}/${version}`) ?? null);
  }

  findOwner(aci: string) {
    return Promise.resolve(this.owners.get(aci) ?? null);
  }
}

interface TestAccount {
  aci: string;
  profileKey: ProfileKey;
  accessKey: Uint8Array<ArrayBuffer>;
  version: string;
  device: AuthenticatedDevice;
}

const deviceAuth = (device: AuthenticatedDevice): RequestAuth => ({ kind: 'device', device });
const anonymous: RequestAuth = { kind: 'anonymous' };

async function codeOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return (error as { extensions?: Record<string, unknown> }).extensions?.['code'];
  }
  throw new Error('expected a refusal');
}

async function messageOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('ProfileService', () => {
  const now = Date.UTC(2026, 10, 25, 15, 30);
  let store: MemoryProfileStore;
  let consumed: Array<[string, string]>;
  let blocked: Set<string>;
  let zkSecretParams: ServerSecretParams;
  let service: ProfileService;
  let alice: TestAccount;
  let bob: TestAccount;

  function account(capabilities: string[][] = [['storage']], unrestricted = false): TestAccount {
    const aci = randomUUID();
    const profileKey = new ProfileKey(bytes(32));
    const accessKey = profileKey.deriveAccessKey();
    store.owners.set(aci, {
      aci,
      unidentifiedAccessKey: accessKey,
      unrestrictedUnidentifiedAccess: unrestricted,
      deviceCapabilities: capabilities,
    });
    return {
      aci,
      profileKey,
      accessKey,
      version: profileKey.getProfileKeyVersion(Aci.fromUuid(aci)).toString(),
      device: { aci, deviceId: 1, credentialId: 'c', expiresAt: now + 3_600_000 },
    };
  }

  function profileInput(owner: TestAccount, overrides: Partial<SetProfileInput> = {}) {
    return {
      version: owner.version,
      commitment: owner.profileKey.getCommitment(Aci.fromUuid(owner.aci)).serialize(),
      name: bytes(81),
      about: bytes(100),
      aboutEmoji: bytes(20),
      avatar: 'KEEP' as const,
      ...overrides,
    };
  }

  beforeEach(async () => {
    store = new MemoryProfileStore();
    consumed = [];
    blocked = new Set();
    zkSecretParams = ServerSecretParams.generate();
    const isBlocked: IsBlocked = (owner, caller) =>
      Promise.resolve(blocked.has(`${owner}>${caller}`));
    service = new ProfileService({
      store,
      zkSecretParams,
      limits: {
        consume: (bucket, key) => {
          consumed.push([bucket, key]);
          return Promise.resolve();
        },
      },
      avatarForms: new StubAvatarUploadForms({ now: () => now }),
      isBlocked,
      now: () => now,
    });
    alice = account([['storage', 'deleteSync'], ['storage']]);
    bob = account();
    await service.setProfile(alice.device, profileInput(alice));
  });

  describe('setProfile', () => {
    it('returns a stub upload form with a 15-byte base64url key and stores that key', async () => {
      const result = await service.setProfile(
        alice.device,
        profileInput(alice, { avatar: 'UPLOAD', avatarUploadLength: 1000 }),
      );
      const form = result.avatarUploadForm;
      expect(form?.cdn).toBe(3);
      expect(Buffer.from(form?.key ?? '', 'base64url')).toHaveLength(15);
      expect(form?.uploadUrl.endsWith(form.key)).toBe(true);
      expect(form?.expiresAt).toBeGreaterThan(now);
      expect(result.avatar).toBe(form?.key);
      const kept = await service.setProfile(alice.device, profileInput(alice));
      expect(kept).toEqual({ version: alice.version, avatar: form?.key, avatarUploadForm: null });
      const cleared = await service.setProfile(
        alice.device,
        profileInput(alice, { avatar: 'CLEAR' }),
      );
      expect(cleared.avatar).toBeNull();
    });

    it('refuses a different commitment for an existing version with CONFLICT', async () => {
      const other = new ProfileKey(bytes(32)).getCommitment(Aci.fromUuid(alice.aci)).serialize();
      expect(
        await codeOf(service.setProfile(alice.device, profileInput(alice, { commitment: other }))),
      ).toBe(ErrorCode.CONFLICT);
    });

    it('stores nothing when the input is refused', async () => {
      const before = store.writes;
      expect(
        await codeOf(service.setProfile(alice.device, profileInput(alice, { name: bytes(82) }))),
      ).toBe(ErrorCode.BAD_USER_INPUT);
      expect(
        await codeOf(
          service.setProfile(
            alice.device,
            profileInput(alice, { avatar: 'UPLOAD', avatarUploadLength: 11 * 1024 * 1024 }),
          ),
        ),
      ).toBe(ErrorCode.PAYLOAD_TOO_LARGE);
      expect(store.writes).toBe(before);
    });
  });

  describe('profile access', () => {
    it('serves a token holder, spending one permit of the caller’s profile bucket', async () => {
      const view = await service.getProfile(deviceAuth(bob.device), {
        serviceId: alice.aci.toUpperCase(),
        version: alice.version,
      });
      expect(consumed).toEqual([['profile', bob.aci]]);
      expect(view.aci).toBe(alice.aci);
      expect(view.version).toBe(alice.version);
      expect(view.name).toHaveLength(81);
      expect(view.capabilities).toEqual(['storage']);
      const expected = createHmac('sha256', alice.accessKey).update(Buffer.alloc(32)).digest();
      expect(Buffer.from(view.unidentifiedAccess ?? [])).toEqual(expected);
      expect(unidentifiedAccessChecksum(alice.accessKey)).toEqual(new Uint8Array(expected));
    });

    it('answers null ciphertexts for an unknown version', async () => {
      const view = await service.getProfile(deviceAuth(bob.device), {
        serviceId: alice.aci,
        version: 'ab'.repeat(32),
      });
      expect(view.version).toBeNull();
      expect(view.name).toBeNull();
      expect(view.unrestrictedUnidentifiedAccess).toBe(false);
    });

    it('answers an unknown account and a blocking one alike (NOT_FOUND) to token holders', async () => {
      blocked.add(`${alice.aci}>${bob.aci}`);
      const blockedAnswer = await messageOf(
        service.getProfile(deviceAuth(bob.device), { serviceId: alice.aci }),
      );
      const unknownAnswer = await messageOf(
        service.getProfile(deviceAuth(bob.device), { serviceId: randomUUID() }),
      );
      expect(blockedAnswer).toBe(unknownAnswer);
      expect(
        await codeOf(service.getProfile(deviceAuth(bob.device), { serviceId: alice.aci })),
      ).toBe(ErrorCode.NOT_FOUND);
      await expect(
        service.getProfile(deviceAuth(alice.device), { serviceId: alice.aci }),
      ).resolves.toBeTruthy();
    });

    it('serves an anonymous caller with the right unidentified access key', async () => {
      const view = await service.getProfile(anonymous, {
        serviceId: alice.aci,
        version: alice.version,
        access: { unidentifiedAccessKey: alice.accessKey },
      });
      expect(view.name).toHaveLength(81);
      expect(consumed).toEqual([]);
    });

    it('answers a wrong key, no key and an unknown account alike (UNAUTHENTICATED)', async () => {
      const answers = [
        () =>
          service.getProfile(anonymous, {
            serviceId: alice.aci,
            access: { unidentifiedAccessKey: bob.accessKey },
          }),
        () =>
          service.getProfile(anonymous, {
            serviceId: alice.aci,
            access: { unidentifiedAccessKey: alice.accessKey.subarray(0, 15) },
          }),
        () => service.getProfile(anonymous, { serviceId: alice.aci }),
        () =>
          service.getProfile(anonymous, {
            serviceId: randomUUID(),
            access: { unidentifiedAccessKey: alice.accessKey },
          }),
      ];
      const messages = new Set<string>();
      for (const answer of answers) {
        expect(await codeOf(answer())).toBe(ErrorCode.UNAUTHENTICATED);
        messages.add(await messageOf(answer()));
      }
      expect(messages.size).toBe(1);
    });

    it('refuses the all-zero key for an account without an access key', async () => {
      store.owners.set(alice.aci, { ...store.owners.get(alice.aci)!, unidentifiedAccessKey: null });
      expect(
        await codeOf(
          service.getProfile(anonymous, {
            serviceId: alice.aci,
            access: { unidentifiedAccessKey: new Uint8Array(16) },
          }),
        ),
      ).toBe(ErrorCode.UNAUTHENTICATED);
    });

    it('lets any key through when the account allows unrestricted unidentified access', async () => {
      const open = account([['storage']], true);
      const view = await service.getProfile(anonymous, {
        serviceId: open.aci,
        access: { unidentifiedAccessKey: bytes(16) },
      });
      expect(view.unrestrictedUnidentifiedAccess).toBe(true);
    });

    it('refuses a token together with access, a PNI and a rejected token', async () => {
      expect(
        await codeOf(
          service.getProfile(deviceAuth(bob.device), {
            serviceId: alice.aci,
            access: { unidentifiedAccessKey: alice.accessKey },
          }),
        ),
      ).toBe(ErrorCode.BAD_USER_INPUT);
      expect(
        await codeOf(service.getProfile(deviceAuth(bob.device), { serviceId: `PNI:${alice.aci}` })),
      ).toBe(ErrorCode.BAD_USER_INPUT);
      expect(
        await codeOf(
          service.getProfile({ kind: 'rejected', reason: 'expired' }, { serviceId: alice.aci }),
        ),
      ).toBe(ErrorCode.UNAUTHENTICATED);
    });
  });

  describe('expiring profile key credentials', () => {
    it('issues a credential expiring at the start of the UTC day a week ahead', async () => {
      const client = new ClientZkProfileOperations(zkSecretParams.getPublicParams());
      const context = client.createProfileKeyCredentialRequestContext(
        Aci.fromUuid(alice.aci),
        alice.profileKey,
      );
      const view = await service.getProfile(deviceAuth(bob.device), {
        serviceId: alice.aci,
        version: alice.version,
        credentialRequest: context.getRequest().serialize(),
      });
      const expected = (Math.floor(now / DAY_MS) + 7) * DAY_MS;
      expect(view.credentialExpiresAt).toBe(expected);
      expect(profileKeyCredentialExpiration(now)).toBe(expected / 1000);
      const credential = client.receiveExpiringProfileKeyCredential(
        context,
        new ExpiringProfileKeyCredentialResponse(new Uint8Array(view.credential ?? [])),
        new Date(now),
      );
      expect(credential.getExpirationTime().getTime()).toBe(expected);
    });

    it('refuses a request without version, for an unknown version, malformed or for another key', async () => {
      const client = new ClientZkProfileOperations(zkSecretParams.getPublicParams());
      const request = client
        .createProfileKeyCredentialRequestContext(Aci.fromUuid(alice.aci), alice.profileKey)
        .getRequest()
        .serialize();
      const ask = (version: string | undefined, credentialRequest: Uint8Array) =>
        codeOf(
          service.getProfile(deviceAuth(bob.device), {
            serviceId: alice.aci,
            ...(version ? { version } : {}),
            credentialRequest,
          }),
        );
      expect(await ask(undefined, request)).toBe(ErrorCode.BAD_USER_INPUT);
      expect(await ask('ab'.repeat(32), request)).toBe(ErrorCode.NOT_FOUND);
      expect(await ask(alice.version, bytes(40))).toBe(ErrorCode.BAD_USER_INPUT);
      const foreign = client
        .createProfileKeyCredentialRequestContext(Aci.fromUuid(alice.aci), bob.profileKey)
        .getRequest()
        .serialize();
      expect(await ask(alice.version, foreign)).toBe(ErrorCode.BAD_USER_INPUT);
    });
  });

  it('publishes the public params matching its secret params', () => {
    expect(service.serverPublicParams()).toEqual(zkSecretParams.getPublicParams().serialize());
  });
});
