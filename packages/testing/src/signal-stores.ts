import type { IdentityKeyPair, ProtocolAddress } from '@signalapp/libsignal-client';
import {
  IdentityChange,
  IdentityKeyStore,
  KEMKeyPair,
  KEMPublicKey,
  KyberPreKeyRecord,
  KyberPreKeyStore,
  PreKeyBundle,
  PreKeyRecord,
  PreKeyStore,
  PrivateKey,
  PublicKey,
  SenderKeyRecord,
  SenderKeyStore,
  SessionRecord,
  SessionStore,
  SignedPreKeyRecord,
  SignedPreKeyStore,
} from '@signalapp/libsignal-client';
import type { SignedPublicPreKey, TestIdentity } from './signal-client.ts';

/** A libsignal sender-key store in memory (group messages), keyed by sender and distribution. */
export class InMemorySenderKeyStore extends SenderKeyStore {
  readonly #records = new Map<string, Uint8Array>();

  static #key(sender: ProtocolAddress, distributionId: string): string {
    return `${sender.toString()}/${distributionId}`;
  }

  override saveSenderKey(
    sender: ProtocolAddress,
    distributionId: string,
    record: SenderKeyRecord,
  ): Promise<void> {
    this.#records.set(InMemorySenderKeyStore.#key(sender, distributionId), record.serialize());
    return Promise.resolve();
  }

  override getSenderKey(
    sender: ProtocolAddress,
    distributionId: string,
  ): Promise<SenderKeyRecord | null> {
    const bytes = this.#records.get(InMemorySenderKeyStore.#key(sender, distributionId));
    return Promise.resolve(bytes ? SenderKeyRecord.deserialize(new Uint8Array(bytes)) : null);
  }
}

/** A libsignal session store in memory. */
export class InMemorySessionStore extends SessionStore {
  readonly #sessions = new Map<string, Uint8Array<ArrayBuffer>>();

  async saveSession(name: ProtocolAddress, record: SessionRecord): Promise<void> {
    this.#sessions.set(name.toString(), record.serialize());
  }

  async getSession(name: ProtocolAddress): Promise<SessionRecord | null> {
    const bytes = this.#sessions.get(name.toString());
    return bytes ? SessionRecord.deserialize(bytes) : null;
  }

  async getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
    return Promise.all(
      addresses.map(async (address) => {
        const session = await this.getSession(address);
        if (!session) throw new Error(`no session for ${address.toString()}`);
        return session;
      }),
    );
  }
}

/** A libsignal identity store in memory that trusts every identity on first use. */
export class InMemoryIdentityKeyStore extends IdentityKeyStore {
  readonly #identity: IdentityKeyPair;
  readonly #registrationId: number;
  readonly #known = new Map<string, PublicKey>();

  constructor(identity: IdentityKeyPair, registrationId: number) {
    super();
    this.#identity = identity;
    this.#registrationId = registrationId;
  }

  async getIdentityKey(): Promise<PrivateKey> {
    return this.#identity.privateKey;
  }

  async getLocalRegistrationId(): Promise<number> {
    return this.#registrationId;
  }

  async saveIdentity(name: ProtocolAddress, key: PublicKey): Promise<IdentityChange> {
    const previous = this.#known.get(name.name());
    this.#known.set(name.name(), key);
    return previous && !previous.equals(key)
      ? IdentityChange.ReplacedExisting
      : IdentityChange.NewOrUnchanged;
  }

  async isTrustedIdentity(name: ProtocolAddress, key: PublicKey): Promise<boolean> {
    const known = this.#known.get(name.name());
    return !known || known.equals(key);
  }

  async getIdentity(name: ProtocolAddress): Promise<PublicKey | null> {
    return this.#known.get(name.name()) ?? null;
  }
}

/** One-time EC prekeys in memory (removed once used, as clients do). */
export class InMemoryPreKeyStore extends PreKeyStore {
  readonly #keys = new Map<number, PreKeyRecord>();

  async savePreKey(id: number, record: PreKeyRecord): Promise<void> {
    this.#keys.set(id, record);
  }

  async getPreKey(id: number): Promise<PreKeyRecord> {
    const record = this.#keys.get(id);
    if (!record) throw new Error(`no prekey ${id}`);
    return record;
  }

  async removePreKey(id: number): Promise<void> {
    this.#keys.delete(id);
  }
}

/** Signed EC prekeys in memory. */
export class InMemorySignedPreKeyStore extends SignedPreKeyStore {
  readonly #keys = new Map<number, SignedPreKeyRecord>();

  async saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void> {
    this.#keys.set(id, record);
  }

  async getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
    const record = this.#keys.get(id);
    if (!record) throw new Error(`no signed prekey ${id}`);
    return record;
  }
}

/** Kyber prekeys in memory; records which were used (one-time keys must be used only once). */
export class InMemoryKyberPreKeyStore extends KyberPreKeyStore {
  readonly #keys = new Map<number, KyberPreKeyRecord>();
  /** Ids passed to `markKyberPreKeyUsed`, in order. */
  readonly used: number[] = [];

  async saveKyberPreKey(id: number, record: KyberPreKeyRecord): Promise<void> {
    this.#keys.set(id, record);
  }

  async getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
    const record = this.#keys.get(id);
    if (!record) throw new Error(`no kyber prekey ${id}`);
    return record;
  }

  async markKyberPreKeyUsed(id: number): Promise<void> {
    this.used.push(id);
  }
}

/** A one-time EC prekey made by a test client: the public part to upload, the record to keep. */
export interface TestOneTimePreKey {
  readonly keyId: number;
  readonly publicKey: Uint8Array<ArrayBuffer>;
  readonly record: PreKeyRecord;
}

/** A signed one-time Kyber prekey made by a test client. */
export interface TestKyberPreKey extends SignedPublicPreKey {
  readonly record: KyberPreKeyRecord;
}

/** Generates `count` one-time EC prekeys with ids from `firstId`. */
export function generateOneTimePreKeys(count: number, firstId: number): TestOneTimePreKey[] {
  return Array.from({ length: count }, (_, i) => {
    const privateKey = PrivateKey.generate();
    const publicKey = privateKey.getPublicKey();
    return {
      keyId: firstId + i,
      publicKey: publicKey.serialize(),
      record: PreKeyRecord.new(firstId + i, publicKey, privateKey),
    };
  });
}

/** Generates `count` one-time Kyber prekeys signed by `identity`, with ids from `firstId`. */
export function generateKyberPreKeys(
  identity: IdentityKeyPair,
  count: number,
  firstId: number,
): TestKyberPreKey[] {
  return Array.from({ length: count }, (_, i) => {
    const keyPair = KEMKeyPair.generate();
    const publicKey = keyPair.getPublicKey().serialize();
    const signature = identity.privateKey.sign(publicKey);
    return {
      keyId: firstId + i,
      publicKey,
      signature,
      record: KyberPreKeyRecord.new(firstId + i, Date.now(), keyPair, signature),
    };
  });
}

/**
 * Everything one device of a test account needs to receive PQXDH sessions for one identity:
 * libsignal's stores holding its private keys.
 */
export class TestSignalStores {
  readonly sessions = new InMemorySessionStore();
  readonly identity: InMemoryIdentityKeyStore;
  readonly preKeys = new InMemoryPreKeyStore();
  readonly signedPreKeys = new InMemorySignedPreKeyStore();
  readonly kyberPreKeys = new InMemoryKyberPreKeyStore();
  readonly senderKeys = new InMemorySenderKeyStore();

  constructor(identityKeyPair: IdentityKeyPair, registrationId: number) {
    this.identity = new InMemoryIdentityKeyStore(identityKeyPair, registrationId);
  }

  /**
   * The stores of a device whose identity, signed EC prekey and last-resort Kyber prekey are
   * `identity`'s (as `generateTestIdentity` made them).
   */
  static forIdentity(identity: TestIdentity): TestSignalStores {
    const stores = new TestSignalStores(identity.identityKeyPair, identity.registrationId);
    stores.addSignedPreKey(identity.signedPreKey);
    stores.addKyberPreKey(identity.lastResortKyberPreKey);
    return stores;
  }

  /** Keeps a signed EC prekey's private key. */
  addSignedPreKey(key: SignedPublicPreKey & { readonly privateKey: PrivateKey }): void {
    void this.signedPreKeys.saveSignedPreKey(
      key.keyId,
      SignedPreKeyRecord.new(
        key.keyId,
        Date.now(),
        PublicKey.deserialize(key.publicKey),
        key.privateKey,
        key.signature,
      ),
    );
  }

  /** Keeps a Kyber prekey's key pair (one-time or last resort). */
  addKyberPreKey(key: SignedPublicPreKey & { readonly keyPair: KEMKeyPair }): void {
    void this.kyberPreKeys.saveKyberPreKey(
      key.keyId,
      KyberPreKeyRecord.new(key.keyId, Date.now(), key.keyPair, key.signature),
    );
  }

  /** Keeps one-time EC and Kyber prekeys' private parts. */
  addOneTimeKeys(ec: readonly TestOneTimePreKey[], kyber: readonly TestKyberPreKey[]): void {
    for (const key of ec) void this.preKeys.savePreKey(key.keyId, key.record);
    for (const key of kyber) void this.kyberPreKeys.saveKyberPreKey(key.keyId, key.record);
  }
}

/** A prekey bundle device as the `preKeyBundle` query returns it (bytes as base64). */
export interface PreKeyBundleDeviceResponse {
  readonly deviceId: number;
  readonly registrationId: number;
  readonly signedPreKey: { keyId: number; publicKey: string; signature: string };
  readonly preKey: { keyId: number; publicKey: string } | null;
  readonly kyberPreKey: { keyId: number; publicKey: string; signature: string };
}

/** The `preKeyBundle` selection that {@link toLibsignalBundle} needs. */
export const PRE_KEY_BUNDLE_FIELDS = `identityKey devices { deviceId registrationId
  signedPreKey { keyId publicKey signature } preKey { keyId publicKey }
  kyberPreKey { keyId publicKey signature } }`;

const fromBase64 = (value: string) => new Uint8Array(Buffer.from(value, 'base64'));

/** Builds libsignal's `PreKeyBundle` from the bytes the server returned for one device. */
export function toLibsignalBundle(
  identityKey: string,
  device: PreKeyBundleDeviceResponse,
): PreKeyBundle {
  return PreKeyBundle.new(
    device.registrationId,
    device.deviceId,
    device.preKey ? device.preKey.keyId : null,
    device.preKey ? PublicKey.deserialize(fromBase64(device.preKey.publicKey)) : null,
    device.signedPreKey.keyId,
    PublicKey.deserialize(fromBase64(device.signedPreKey.publicKey)),
    fromBase64(device.signedPreKey.signature),
    PublicKey.deserialize(fromBase64(identityKey)),
    device.kyberPreKey.keyId,
    KEMPublicKey.deserialize(fromBase64(device.kyberPreKey.publicKey)),
    fromBase64(device.kyberPreKey.signature),
  );
}
