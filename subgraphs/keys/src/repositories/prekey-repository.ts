import { BadUserInputError } from '@courier/errors';
import { isUniqueViolation, type IdentityType, type PrismaClient } from '@courier/db';
import type { PreKeyBytes, SignedPreKeyBytes } from '../services/key-validation.ts';

/** One device of one identity: the owner of a set of prekeys. */
export interface PreKeyOwner {
  readonly aci: string;
  readonly identity: IdentityType;
  readonly deviceId: number;
}

/** Validated prekeys to store; absent or empty parts leave the stored keys of that kind. */
export interface PreKeyUpload {
  readonly ecPreKeys: readonly PreKeyBytes[];
  readonly kyberPreKeys: readonly SignedPreKeyBytes[];
  readonly signedPreKey: SignedPreKeyBytes | null;
  readonly pqLastResortPreKey: SignedPreKeyBytes | null;
}

/** A device's repeated-use keys: signed EC prekey and last-resort Kyber prekey. */
export interface RepeatedUseKeys {
  readonly deviceId: number;
  readonly signedPreKey: SignedPreKeyBytes | null;
  readonly lastResortKyberPreKey: SignedPreKeyBytes | null;
}

/** One-time keys claimed for one bundle (each now deleted). */
export interface ClaimedPreKeys {
  readonly ecPreKey: PreKeyBytes | null;
  readonly kyberPreKey: SignedPreKeyBytes | null;
}

interface ClaimedRow {
  kind: 'ec' | 'kyber';
  key_id: number;
  public_key: Uint8Array;
  signature: Uint8Array | null;
}

const bytes = (value: Uint8Array) => new Uint8Array(value);
const signedRow = (row: { keyId: number; publicKey: Uint8Array; signature: Uint8Array }) => ({
  keyId: row.keyId,
  publicKey: bytes(row.publicKey),
  signature: bytes(row.signature),
});

/**
 * The only code that reads and writes one-time prekeys (`keys.one_time_ec_prekeys`, the
 * one-time rows of `keys.kyber_prekeys`) and reads prekeys for bundles and key checks.
 */
export class PreKeyRepository {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  /**
   * Stores an upload in one transaction: each non-empty list replaces the stored set of its
   * kind, a signed or last-resort key replaces the current one. A one-time Kyber key id equal to
   * the last-resort key's is refused (`BAD_USER_INPUT`, the primary key catches it) and nothing
   * changes.
   */
  async store(owner: PreKeyOwner, upload: PreKeyUpload): Promise<void> {
    const where = { aci: owner.aci, identity: owner.identity, deviceId: owner.deviceId };
    try {
      await this.#prisma.$transaction(async (tx) => {
        if (upload.ecPreKeys.length > 0) {
          await tx.oneTimeEcPreKey.deleteMany({ where });
          await tx.oneTimeEcPreKey.createMany({
            data: upload.ecPreKeys.map((key) => ({
              ...where,
              keyId: key.keyId,
              publicKey: bytes(key.publicKey),
            })),
          });
        }
        if (upload.signedPreKey) {
          const signed = signedRow(upload.signedPreKey);
          await tx.signedEcPreKey.upsert({
            where: { aci_identity_deviceId: where },
            create: { ...where, ...signed },
            update: signed,
          });
        }
        if (upload.kyberPreKeys.length > 0) {
          await tx.kyberPreKey.deleteMany({ where: { ...where, lastResort: false } });
        }
        if (upload.pqLastResortPreKey) {
          await tx.kyberPreKey.deleteMany({ where: { ...where, lastResort: true } });
          await tx.kyberPreKey.create({
            data: { ...where, lastResort: true, ...signedRow(upload.pqLastResortPreKey) },
          });
        }
        if (upload.kyberPreKeys.length > 0) {
          await tx.kyberPreKey.createMany({
            data: upload.kyberPreKeys.map((key) => ({
              ...where,
              lastResort: false,
              ...signedRow(key),
            })),
          });
        }
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new BadUserInputError(
          'One-time and last-resort Kyber prekeys must have different key ids',
          upload.kyberPreKeys.length > 0 ? 'kyberPreKeys' : 'pqLastResortPreKey',
        );
      }
      throw error;
    }
  }

  /** How many one-time EC and one-time Kyber prekeys a device has left. */
  async count(owner: PreKeyOwner): Promise<{ ecCount: number; kyberCount: number }> {
    const where = { aci: owner.aci, identity: owner.identity, deviceId: owner.deviceId };
    const [ecCount, kyberCount] = await Promise.all([
      this.#prisma.oneTimeEcPreKey.count({ where }),
      this.#prisma.kyberPreKey.count({ where: { ...where, lastResort: false } }),
    ]);
    return { ecCount, kyberCount };
  }

  /** The signed EC and last-resort Kyber prekeys of some devices of an identity. */
  async repeatedUseKeys(
    aci: string,
    identity: IdentityType,
    deviceIds: readonly number[],
  ): Promise<Map<number, RepeatedUseKeys>> {
    const where = { aci, identity, deviceId: { in: [...deviceIds] } };
    const [signed, lastResort] = await Promise.all([
      this.#prisma.signedEcPreKey.findMany({ where }),
      this.#prisma.kyberPreKey.findMany({ where: { ...where, lastResort: true } }),
    ]);
    const result = new Map<number, RepeatedUseKeys>();
    for (const deviceId of deviceIds) {
      const ec = signed.find((row) => row.deviceId === deviceId);
      const kyber = lastResort.find((row) => row.deviceId === deviceId);
      result.set(deviceId, {
        deviceId,
        signedPreKey: ec ? signedRow(ec) : null,
        lastResortKyberPreKey: kyber ? signedRow(kyber) : null,
      });
    }
    return result;
  }

  /**
   * Takes (deletes and returns) one one-time EC prekey and one one-time Kyber prekey of a device,
   * in one statement. Each row is locked with `FOR UPDATE SKIP LOCKED` before it is deleted, so
   * concurrent claims on any instance never return the same key: a key locked by another claim
   * is skipped, and a claim that finds every remaining key locked gets none (the Kyber part then
   * falls back to the last-resort key).
   */
  async claim(owner: PreKeyOwner): Promise<ClaimedPreKeys> {
    const { aci, identity, deviceId } = owner;
    const rows = await this.#prisma.$queryRaw<ClaimedRow[]>`
      WITH ec AS (
        DELETE FROM keys.one_time_ec_prekeys WHERE ctid = (
          SELECT ctid FROM keys.one_time_ec_prekeys
          WHERE aci = ${aci}::uuid AND identity = ${identity}::keys.identity_type
            AND device_id = ${deviceId}
          LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING key_id, public_key, NULL::bytea AS signature
      ), kyber AS (
        DELETE FROM keys.kyber_prekeys WHERE ctid = (
          SELECT ctid FROM keys.kyber_prekeys
          WHERE aci = ${aci}::uuid AND identity = ${identity}::keys.identity_type
            AND device_id = ${deviceId} AND last_resort = false
          LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING key_id, public_key, signature
      )
      SELECT 'ec' AS kind, key_id, public_key, signature FROM ec
      UNION ALL
      SELECT 'kyber' AS kind, key_id, public_key, signature FROM kyber`;
    const ec = rows.find((row) => row.kind === 'ec');
    const kyber = rows.find((row) => row.kind === 'kyber');
    return {
      ecPreKey: ec ? { keyId: ec.key_id, publicKey: bytes(ec.public_key) } : null,
      kyberPreKey:
        kyber && kyber.signature
          ? {
              keyId: kyber.key_id,
              publicKey: bytes(kyber.public_key),
              signature: bytes(kyber.signature),
            }
          : null,
    };
  }
}
