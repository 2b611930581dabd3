import type { IdentityType, PrismaClient } from '@courier/db';

/** The only code that reads and writes the `keys.identity_keys` table. */
export class IdentityKeyRepository {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  async find(aci: string, identity: IdentityType): Promise<Uint8Array | null> {
    const row = await this.#prisma.identityKey.findUnique({
      where: { aci_identity: { aci, identity } },
      select: { publicKey: true },
    });
    return row ? new Uint8Array(row.publicKey) : null;
  }

  /** Stores or replaces an identity key. */
  async put(aci: string, identity: IdentityType, publicKey: Uint8Array): Promise<void> {
    await this.#prisma.identityKey.upsert({
      where: { aci_identity: { aci, identity } },
      create: { aci, identity, publicKey: new Uint8Array(publicKey) },
      update: { publicKey: new Uint8Array(publicKey) },
    });
  }
}
