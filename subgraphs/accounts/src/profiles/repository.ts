import type { PrismaClient } from '@courier/db';
import type { ValidProfileWrite } from './validation.ts';

/** One stored profile version. */
export interface ProfileRecord {
  readonly aci: string;
  readonly version: string;
  readonly commitment: Uint8Array<ArrayBuffer>;
  readonly name: Uint8Array<ArrayBuffer>;
  readonly about: Uint8Array<ArrayBuffer> | null;
  readonly aboutEmoji: Uint8Array<ArrayBuffer> | null;
  readonly paymentAddress: Uint8Array<ArrayBuffer> | null;
  readonly avatar: string | null;
  readonly updatedAt: Date;
}

/** What profile access and the unversioned part of a profile need from the account. */
export interface ProfileOwner {
  readonly aci: string;
  /** The 16-byte unidentified access key, or null when the account has none. */
  readonly unidentifiedAccessKey: Uint8Array<ArrayBuffer> | null;
  readonly unrestrictedUnidentifiedAccess: boolean;
  /** Capabilities declared by each device of the account. */
  readonly deviceCapabilities: ReadonlyArray<readonly string[]>;
}

/** The avatar a profile write leaves on its version. */
export type AvatarWrite = { readonly kind: 'keep' } | { readonly kind: 'set'; key: string | null };

/** Outcome of {@link ProfileStore.saveVersion}. */
export type SaveVersionResult =
  | { readonly kind: 'saved'; readonly avatar: string | null }
  | { readonly kind: 'commitment-mismatch' }
  | { readonly kind: 'no-account' };

/** The profile storage the service uses (implemented by {@link ProfileRepository}). */
export interface ProfileStore {
  saveVersion(
    aci: string,
    write: ValidProfileWrite,
    avatar: AvatarWrite,
  ): Promise<SaveVersionResult>;
  findVersion(aci: string, version: string): Promise<ProfileRecord | null>;
  findOwner(aci: string): Promise<ProfileOwner | null>;
}

const bytes = (value: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(value);
const optionalBytes = (value: Uint8Array | null): Uint8Array<ArrayBuffer> | null =>
  value === null ? null : bytes(value);

/**
 * The only code that reads and writes `accounts.profiles`; it also reads the access columns of
 * `accounts.accounts` (unidentified access key and flag) and the capabilities of
 * `accounts.devices`, which the accounts subgraph owns.
 */
export class ProfileRepository implements ProfileStore {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  /**
   * Writes one profile version in one statement. A new version is inserted; an existing one is
   * overwritten only when the commitment equals the stored one (the commitment of a version is
   * fixed by its first write, as in Signal), so concurrent writers cannot swap it.
   */
  async saveVersion(
    aci: string,
    write: ValidProfileWrite,
    avatar: AvatarWrite,
  ): Promise<SaveVersionResult> {
    const keep = avatar.kind === 'keep';
    const newAvatar = avatar.kind === 'set' ? avatar.key : null;
    const rows = await this.#prisma.$queryRaw<Array<{ avatar: string | null }>>`
      INSERT INTO "accounts"."profiles"
        ("aci", "version", "commitment", "name", "about", "about_emoji", "payment_address",
         "avatar", "updated_at")
      SELECT ${aci}::uuid, ${write.version}, ${write.commitment}::bytea, ${write.name}::bytea,
        ${write.about}::bytea, ${write.aboutEmoji}::bytea, ${write.paymentAddress}::bytea,
        ${newAvatar}::text, now()
      WHERE EXISTS (SELECT 1 FROM "accounts"."accounts" WHERE "aci" = ${aci}::uuid)
      ON CONFLICT ("aci", "version") DO UPDATE SET
        "name" = EXCLUDED."name",
        "about" = EXCLUDED."about",
        "about_emoji" = EXCLUDED."about_emoji",
        "payment_address" = EXCLUDED."payment_address",
        "avatar" = CASE WHEN ${keep} THEN "profiles"."avatar" ELSE EXCLUDED."avatar" END,
        "updated_at" = now()
      WHERE "profiles"."commitment" = EXCLUDED."commitment"
      RETURNING "avatar"`;
    const saved = rows[0];
    if (saved) return { kind: 'saved', avatar: saved.avatar };
    const account = await this.#prisma.account.findUnique({
      where: { aci },
      select: { aci: true },
    });
    return account ? { kind: 'commitment-mismatch' } : { kind: 'no-account' };
  }

  /** The stored version `version` of the account's profile. */
  async findVersion(aci: string, version: string): Promise<ProfileRecord | null> {
    const row = await this.#prisma.profile.findUnique({ where: { aci_version: { aci, version } } });
    if (!row) return null;
    return {
      aci: row.aci,
      version: row.version,
      commitment: bytes(row.commitment),
      name: bytes(row.name),
      about: optionalBytes(row.about),
      aboutEmoji: optionalBytes(row.aboutEmoji),
      paymentAddress: optionalBytes(row.paymentAddress),
      avatar: row.avatar,
      updatedAt: row.updatedAt,
    };
  }

  /** The account's access settings and device capabilities, or null when there is no account. */
  async findOwner(aci: string): Promise<ProfileOwner | null> {
    const row = await this.#prisma.account.findUnique({
      where: { aci },
      select: {
        aci: true,
        unidentifiedAccessKey: true,
        unrestrictedUnidentifiedAccess: true,
        devices: { select: { capabilities: true } },
      },
    });
    if (!row) return null;
    return {
      aci: row.aci,
      unidentifiedAccessKey: optionalBytes(row.unidentifiedAccessKey),
      unrestrictedUnidentifiedAccess: row.unrestrictedUnidentifiedAccess,
      deviceCapabilities: row.devices.map((device) => device.capabilities),
    };
  }
}
