import type { Prisma, PrismaClient } from '@courier/db';

/** An account row as the accounts subgraph reads it. */
export interface AccountRecord {
  readonly aci: string;
  readonly pni: string;
  readonly number: string;
  readonly createdAt: Date;
}

/** A device row as the accounts subgraph reads it. */
export interface DeviceRecord {
  readonly aci: string;
  readonly deviceId: number;
  readonly passwordHash: Uint8Array<ArrayBuffer>;
  readonly passwordSalt: Uint8Array<ArrayBuffer>;
  readonly registrationId: number;
  readonly pniRegistrationId: number;
  readonly encryptedName: Uint8Array<ArrayBuffer> | null;
  readonly capabilities: string[];
  readonly credentialId: string;
  readonly createdAt: Date;
  readonly lastSeenAt: Date;
}

/** What registration writes for an account and its primary device. */
export interface NewRegistration {
  readonly aci: string;
  readonly pni: string;
  readonly number: string;
  readonly unidentifiedAccessKey: Uint8Array | null;
  readonly unrestrictedUnidentifiedAccess: boolean;
  readonly primary: Omit<DeviceRecord, 'aci' | 'deviceId' | 'createdAt' | 'lastSeenAt'>;
}

/**
 * An account as other subgraphs need it to serve requests addressed to it (keys: prekey bundles
 * and their access checks): ids, sealed-sender access settings, devices' registration ids.
 */
export interface ServiceTargetRecord {
  readonly aci: string;
  readonly pni: string;
  /** The E.164 number (messages puts it in sender certificates that ask for it). */
  readonly number: string;
  readonly unidentifiedAccessKey: Uint8Array<ArrayBuffer> | null;
  readonly unrestrictedUnidentifiedAccess: boolean;
  readonly devices: readonly {
    readonly deviceId: number;
    readonly registrationId: number;
    readonly pniRegistrationId: number;
  }[];
}

/** A transaction handle; repositories take one where a service spans several writes. */
export type Transaction = Prisma.TransactionClient;

const SERVICE_TARGET_SELECT = {
  aci: true,
  pni: true,
  number: true,
  unidentifiedAccessKey: true,
  unrestrictedUnidentifiedAccess: true,
  devices: {
    select: { deviceId: true, registrationId: true, pniRegistrationId: true },
    orderBy: { deviceId: 'asc' },
  },
} as const satisfies Prisma.AccountSelect;

const ACCOUNT_FIELDS = { aci: true, pni: true, number: true, createdAt: true } as const;

/** The only code that reads and writes the `accounts.accounts` and `accounts.devices` tables. */
export class AccountRepository {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  /** Runs `work` in one database transaction. */
  transaction<T>(work: (tx: Transaction) => Promise<T>, timeoutMs = 15_000): Promise<T> {
    return this.#prisma.$transaction(work, { timeout: timeoutMs, maxWait: timeoutMs });
  }

  findByAci(aci: string): Promise<AccountRecord | null> {
    return this.#prisma.account.findUnique({ where: { aci }, select: ACCOUNT_FIELDS });
  }

  findByNumber(tx: Transaction, number: string): Promise<AccountRecord | null> {
    return tx.account.findUnique({ where: { number }, select: ACCOUNT_FIELDS });
  }

  /**
   * Serialises registrations of one number until the transaction ends (a transaction-scoped
   * advisory lock), so two verified sessions for the same number cannot both create it.
   */
  async lockNumber(tx: Transaction, number: string): Promise<void> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`number:${number}`}, 0))`;
  }

  /**
   * Creates the account, or replaces an existing one's devices and attributes, with its
   * primary. Returns the ids of the devices it replaced.
   */
  async saveRegistration(tx: Transaction, registration: NewRegistration): Promise<number[]> {
    const replaced = await tx.device.findMany({
      where: { aci: registration.aci },
      select: { deviceId: true },
    });
    const attributes = {
      unidentifiedAccessKey: registration.unidentifiedAccessKey
        ? new Uint8Array(registration.unidentifiedAccessKey)
        : null,
      unrestrictedUnidentifiedAccess: registration.unrestrictedUnidentifiedAccess,
    };
    await tx.device.deleteMany({ where: { aci: registration.aci } });
    await tx.account.upsert({
      where: { aci: registration.aci },
      create: {
        aci: registration.aci,
        pni: registration.pni,
        number: registration.number,
        ...attributes,
      },
      update: attributes,
    });
    await tx.device.create({
      data: { aci: registration.aci, deviceId: 1, ...registration.primary },
    });
    return replaced.map((device) => device.deviceId);
  }

  /** The account with this ACI or PNI and its devices (lowest id first), or null. */
  findServiceTarget(id: { aci: string } | { pni: string }): Promise<ServiceTargetRecord | null> {
    return this.#prisma.account.findUnique({
      where: 'aci' in id ? { aci: id.aci } : { pni: id.pni },
      select: SERVICE_TARGET_SELECT,
    });
  }

  /** The accounts with any of these ACIs or PNIs and their devices (lowest id first), in one query. */
  findServiceTargets(
    acis: readonly string[],
    pnis: readonly string[],
  ): Promise<ServiceTargetRecord[]> {
    return this.#prisma.account.findMany({
      where: { OR: [{ aci: { in: [...acis] } }, { pni: { in: [...pnis] } }] },
      select: SERVICE_TARGET_SELECT,
    });
  }

  findDevice(aci: string, deviceId: number): Promise<DeviceRecord | null> {
    return this.#prisma.device.findUnique({ where: { aci_deviceId: { aci, deviceId } } });
  }

  /** The device's current credential id, or null when there is no such device. */
  async credentialIdOf(aci: string, deviceId: number): Promise<string | null> {
    const device = await this.#prisma.device.findUnique({
      where: { aci_deviceId: { aci, deviceId } },
      select: { credentialId: true },
    });
    return device?.credentialId ?? null;
  }

  /**
   * Changes a device's attributes and, when given, the account's, in one transaction; returns
   * the updated device, or null when the device no longer exists.
   */
  async updateAttributes(
    aci: string,
    deviceId: number,
    device: Partial<
      Pick<
        DeviceRecord,
        | 'registrationId'
        | 'pniRegistrationId'
        | 'encryptedName'
        | 'capabilities'
        | 'passwordHash'
        | 'passwordSalt'
        | 'credentialId'
      >
    >,
    account: { unidentifiedAccessKey?: Uint8Array; unrestrictedUnidentifiedAccess?: boolean },
  ): Promise<DeviceRecord | null> {
    return this.#prisma.$transaction(async (tx) => {
      const { count } = await tx.device.updateMany({ where: { aci, deviceId }, data: device });
      if (count === 0) return null;
      if (Object.keys(account).length > 0) {
        const { unidentifiedAccessKey, unrestrictedUnidentifiedAccess } = account;
        await tx.account.update({
          where: { aci },
          data: {
            ...(unidentifiedAccessKey
              ? { unidentifiedAccessKey: new Uint8Array(unidentifiedAccessKey) }
              : {}),
            ...(unrestrictedUnidentifiedAccess !== undefined
              ? { unrestrictedUnidentifiedAccess }
              : {}),
          },
        });
      }
      return tx.device.findUnique({ where: { aci_deviceId: { aci, deviceId } } });
    });
  }

  /** Deletes an account with everything of it in accounts' tables (devices, blocks, profiles). */
  async deleteAccount(aci: string): Promise<void> {
    await this.#prisma.account.deleteMany({ where: { aci } });
  }

  /** Deletes a device; false when it did not exist. */
  async deleteDevice(aci: string, deviceId: number): Promise<boolean> {
    const { count } = await this.#prisma.device.deleteMany({ where: { aci, deviceId } });
    return count > 0;
  }

  listDevices(aci: string): Promise<DeviceRecord[]> {
    return this.#prisma.device.findMany({ where: { aci }, orderBy: { deviceId: 'asc' } });
  }

  /**
   * Device linking: locks the account's row until the transaction ends (`SELECT … FOR UPDATE`),
   * so that device changes of one account are serialised, and returns the account with its
   * devices' ids and creation times; null when there is no such account.
   */
  async lockAccountDevices(
    tx: Transaction,
    aci: string,
  ): Promise<{ account: AccountRecord; devices: { deviceId: number; createdAt: Date }[] } | null> {
    const locked = await tx.$queryRaw<{ aci: string }[]>`
      SELECT aci::text AS aci FROM accounts.accounts WHERE aci = ${aci}::uuid FOR UPDATE`;
    if (locked.length === 0) return null;
    const account = await tx.account.findUnique({ where: { aci }, select: ACCOUNT_FIELDS });
    if (!account) return null;
    const devices = await tx.device.findMany({
      where: { aci },
      select: { deviceId: true, createdAt: true },
      orderBy: { deviceId: 'asc' },
    });
    return { account, devices };
  }

  /** Device linking: creates a linked device inside the caller's transaction. */
  async createLinkedDevice(
    tx: Transaction,
    device: NewRegistration['primary'] & { readonly aci: string; readonly deviceId: number },
  ): Promise<void> {
    await tx.device.create({ data: device });
  }
}
