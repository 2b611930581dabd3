import type { AuthenticatedDevice } from '@courier/auth';
import { BadUserInputError } from '@courier/errors';
import type { BlockRepository } from '../repositories/block-repository.ts';
import { isUuid } from '@courier/server';

/** Most accounts one account may block. */
export const MAX_BLOCKED_ACCOUNTS = 10_000;

function checkAci(aci: string): string {
  const normalised = aci.toLowerCase();
  if (!isUuid(normalised)) throw new BadUserInputError('aci must be a UUID', 'aci');
  return normalised;
}

/**
 * Blocking. The server refuses a blocked account what it can attribute to it: the blocker's
 * profile and prekeys, and identified messages (changes are announced on the bus so other
 * subgraphs need not read accounts' tables). Blocking an unknown ACI is accepted, so a block
 * reveals nothing about whether an account exists.
 */
export class BlockService {
  readonly #blocks: BlockRepository;

  constructor(blocks: BlockRepository) {
    this.#blocks = blocks;
  }

  async block(caller: AuthenticatedDevice, aci: string): Promise<void> {
    const blocked = checkAci(aci);
    if (blocked === caller.aci)
      throw new BadUserInputError('An account cannot block itself', 'aci');
    if ((await this.#blocks.count(caller.aci)) >= MAX_BLOCKED_ACCOUNTS) {
      throw new BadUserInputError(`At most ${MAX_BLOCKED_ACCOUNTS} accounts can be blocked`, 'aci');
    }
    await this.#blocks.add(caller.aci, blocked);
  }

  async unblock(caller: AuthenticatedDevice, aci: string): Promise<void> {
    await this.#blocks.remove(caller.aci, checkAci(aci));
  }

  blockedBy(caller: AuthenticatedDevice): Promise<string[]> {
    return this.#blocks.list(caller.aci);
  }

  /** Whether `blockerAci` blocks `otherAci`. */
  isBlocked(blockerAci: string, otherAci: string): Promise<boolean> {
    return this.#blocks.exists(blockerAci, otherAci);
  }
}
