import type { IdentityType, PrismaClient } from '@courier/db';
import type { SignedPreKeyBytes } from '../services/key-validation.ts';

/** The keys a device registers with for one identity. */
export interface IdentityKeySet {
  readonly identityKey: Uint8Array;
  readonly signedPreKey: SignedPreKeyBytes;
  readonly pqLastResortPreKey: SignedPreKeyBytes;
}

/** A signed key's columns, with bytes copied into plain `Uint8Array`s for Prisma. */
function keyRow(key: SignedPreKeyBytes) {
  return {
    keyId: key.keyId,
    publicKey: new Uint8Array(key.publicKey),
    signature: new Uint8Array(key.signature),
  };
}

/** The only code that writes a device's initial keys and removes a device's keys. */
export class DeviceKeysRepository {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  /**
   * In one transaction: sets the account's identity keys and the device's signed EC and
   * last-resort Kyber prekeys for both identities. With `replaceAccount`, first removes every
   * key of the account (re-registration: the old devices' keys must not outlive them).
   */
  async storeInitialKeys(
    aci: string,
    deviceId: number,
    identities: Readonly<Record<IdentityType, IdentityKeySet>>,
    replaceAccount: boolean,
  ): Promise<void> {
    await this.#prisma.$transaction(async (tx) => {
      if (replaceAccount) {
        await tx.signedEcPreKey.deleteMany({ where: { aci } });
        await tx.kyberPreKey.deleteMany({ where: { aci } });
        await tx.oneTimeEcPreKey.deleteMany({ where: { aci } });
      }
      for (const identity of ['ACI', 'PNI'] as const) {
        const keys = identities[identity];
        const publicKey = new Uint8Array(keys.identityKey);
        await tx.identityKey.upsert({
          where: { aci_identity: { aci, identity } },
          create: { aci, identity, publicKey },
          update: { publicKey },
        });
        const signed = keyRow(keys.signedPreKey);
        await tx.signedEcPreKey.upsert({
          where: { aci_identity_deviceId: { aci, identity, deviceId } },
          create: { aci, identity, deviceId, ...signed },
          update: signed,
        });
        await tx.kyberPreKey.deleteMany({ where: { aci, identity, deviceId, lastResort: true } });
        await tx.kyberPreKey.create({
          data: { aci, identity, deviceId, lastResort: true, ...keyRow(keys.pqLastResortPreKey) },
        });
      }
    });
  }

  /** The account's stored identity keys (either may be absent). */
  async findIdentityKeys(aci: string): Promise<Partial<Record<IdentityType, Uint8Array>>> {
    const rows = await this.#prisma.identityKey.findMany({
      where: { aci },
      select: { identity: true, publicKey: true },
    });
    return Object.fromEntries(rows.map((row) => [row.identity, new Uint8Array(row.publicKey)]));
  }

  /**
   * In one transaction: gives a linked device its signed EC and last-resort Kyber prekeys for
   * both identities, replacing every prekey a former device with the same id left behind. The
   * account's identity keys are not touched (a linked device shares them).
   */
  async storeLinkedDeviceKeys(
    aci: string,
    deviceId: number,
    identities: Readonly<Record<IdentityType, Omit<IdentityKeySet, 'identityKey'>>>,
  ): Promise<void> {
    await this.#prisma.$transaction(async (tx) => {
      await tx.signedEcPreKey.deleteMany({ where: { aci, deviceId } });
      await tx.kyberPreKey.deleteMany({ where: { aci, deviceId } });
      await tx.oneTimeEcPreKey.deleteMany({ where: { aci, deviceId } });
      for (const identity of ['ACI', 'PNI'] as const) {
        const keys = identities[identity];
        await tx.signedEcPreKey.create({
          data: { aci, identity, deviceId, ...keyRow(keys.signedPreKey) },
        });
        await tx.kyberPreKey.create({
          data: { aci, identity, deviceId, lastResort: true, ...keyRow(keys.pqLastResortPreKey) },
        });
      }
    });
  }

  /** Removes every key of an account, one-time keys included (account deletion). */
  async deleteAccount(aci: string): Promise<void> {
    await this.#prisma.$transaction([
      this.#prisma.signedEcPreKey.deleteMany({ where: { aci } }),
      this.#prisma.kyberPreKey.deleteMany({ where: { aci } }),
      this.#prisma.oneTimeEcPreKey.deleteMany({ where: { aci } }),
      this.#prisma.identityKey.deleteMany({ where: { aci } }),
    ]);
  }

  /** Removes a device's prekeys, one-time keys included (identity keys belong to the account and stay). */
  async deleteDevice(aci: string, deviceId: number): Promise<void> {
    await this.#prisma.$transaction([
      this.#prisma.signedEcPreKey.deleteMany({ where: { aci, deviceId } }),
      this.#prisma.kyberPreKey.deleteMany({ where: { aci, deviceId } }),
      this.#prisma.oneTimeEcPreKey.deleteMany({ where: { aci, deviceId } }),
    ]);
  }
}
