import type { AuthenticatedDevice } from '@courier/auth';
import { BadUserInputError } from '@courier/errors';
import type { BlockRepository } from '../repositories/block-repository.ts';
import { isUuid, type BlockListVersions } from '@courier/server';

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
 *
 * With `versions`, every change of a blocker's list, once committed, renews the blocker's
 * version token before it returns, and fails when that fails (the change is committed: the
 * client retries). Keys and messages cache block lists under these tokens
 * (`AccountsClient.isBlocked`), which is what makes a block take effect at once.
 */
export class BlockService {
  readonly #blocks: BlockRepository;
  readonly #versions: BlockListVersions | undefined;

  constructor(blocks: BlockRepository, versions?: BlockListVersions) {
    this.#blocks = blocks;
    this.#versions = versions;
  }

  async block(caller: AuthenticatedDevice, aci: string): Promise<void> {
    const blocked = checkAci(aci);
    if (blocked === caller.aci)
      throw new BadUserInputError('An account cannot block itself', 'aci');
    if ((await this.#blocks.count(caller.aci)) >= MAX_BLOCKED_ACCOUNTS) {
      throw new BadUserInputError(`At most ${MAX_BLOCKED_ACCOUNTS} accounts can be blocked`, 'aci');
    }
    await this.#blocks.add(caller.aci, blocked);
    await this.#versions?.renew(caller.aci);
  }

  async unblock(caller: AuthenticatedDevice, aci: string): Promise<void> {
    await this.#blocks.remove(caller.aci, checkAci(aci));
    await this.#versions?.renew(caller.aci);
  }

  blockedBy(caller: AuthenticatedDevice): Promise<string[]> {
    return this.#blocks.list(caller.aci);
  }

  /**
   * The ACIs `blockerAci` blocks, for other subgraphs' caches: at most
   * {@link MAX_BLOCKED_ACCOUNTS}; `complete` is false when there were more (concurrent blocks
   * can pass the limit check together), and callers must then ask about a pair not in the list.
   */
  async blockListOf(blockerAci: string): Promise<{ blocked: string[]; complete: boolean }> {
    const rows = await this.#blocks.list(blockerAci, MAX_BLOCKED_ACCOUNTS + 1);
    return rows.length > MAX_BLOCKED_ACCOUNTS
      ? { blocked: rows.slice(0, MAX_BLOCKED_ACCOUNTS), complete: false }
      : { blocked: rows, complete: true };
  }

  /** Whether `blockerAci` blocks `otherAci`. */
  isBlocked(blockerAci: string, otherAci: string): Promise<boolean> {
    return this.#blocks.exists(blockerAci, otherAci);
  }
}
