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
}
