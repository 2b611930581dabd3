import { Prisma } from './generated/client.ts';

/** Whether `error` is Prisma's unique-constraint violation (`P2002`): the row already exists. */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
