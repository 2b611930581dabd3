import type { PrismaClient } from '@courier/db';

/** An account row as the accounts subgraph reads it. */
export interface AccountRecord {
  readonly aci: string;
  readonly pni: string;
  readonly number: string;
  readonly createdAt: Date;
}

/** The only code that reads and writes the `accounts.accounts` table. */
export class AccountRepository {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  findByAci(aci: string): Promise<AccountRecord | null> {
    return this.#prisma.account.findUnique({
      where: { aci },
      select: { aci: true, pni: true, number: true, createdAt: true },
    });
  }
}
