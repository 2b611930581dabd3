/**
 * Device linking of the accounts subgraph: link codes, the provisioning relay and `linkDevice`.
 *
 * @packageDocumentation
 */
import type { Logger } from '@courier/logging';
import type { SubgraphRuntime } from '@courier/server';
import type { KeysClient } from '../clients/keys-client.ts';
import type { AccountRepository } from '../repositories/account-repository.ts';
import { LinkCodeSigner } from './link-code.ts';
import { ProvisioningService } from './provisioning.ts';
import { UsedLinkCodeRepository } from './repository.ts';
import { LinkingService } from './service.ts';

export {
  LINK_CODE_KEY_INFO,
  LINK_CODE_TTL_MS,
  LinkCodeSigner,
  type LinkCodeClaims,
} from './link-code.ts';
export {
  MAX_PROVISIONING_MESSAGE_BYTES,
  PROVISIONING_ADDRESS_BYTES,
  PROVISIONING_TIMEOUT_MS,
  ProvisioningService,
  assertProvisioningAddress,
  provisioningChannel,
  type ProvisioningEventModel,
} from './provisioning.ts';
export { UsedLinkCodeRepository, type UsedLinkCode } from './repository.ts';
export {
  LinkingService,
  MAX_DEVICES,
  MAX_DEVICE_ID,
  checkLinkDeviceInput,
  nextFreeDeviceId,
  type LinkDeviceCode,
  type LinkDeviceInput,
  type LinkedDevice,
} from './service.ts';
export { linkingPermissions } from './permissions.ts';
export { linkingResolvers } from './resolvers.ts';

/** Linking settings of `createAccountsServer` (all optional). */
export interface LinkingSetupOptions {
  /**
   * Secret the link-code MAC key is derived from (≥ 32 characters, the same on every accounts
   * instance). The key is derived with HKDF-SHA256 and its own `info`
   * ({@link LINK_CODE_KEY_INFO}), so reusing a secret that keys other things is safe.
   * @default the runtime's router secret
   */
  readonly linkCodeSecret?: string;
  /** Clock of link codes, ms since the epoch. @default Date.now */
  readonly linkingClock?: () => number;
  /** How long a provisioning subscription waits for its message. @default 10 minutes */
  readonly provisioningTimeoutMs?: number;
}

/** The linking services an accounts server puts in its context. */
export interface LinkingSetup {
  readonly linking: LinkingService;
  readonly provisioning: ProvisioningService;
}

/** Builds the linking services on a runtime. */
export function createLinking(
  runtime: SubgraphRuntime,
  deps: { accounts: AccountRepository; keys: KeysClient; logger: Logger },
  options: LinkingSetupOptions = {},
): LinkingSetup {
  const now = options.linkingClock ?? Date.now;
  const linking = new LinkingService({
    accounts: deps.accounts,
    codes: new UsedLinkCodeRepository(runtime.prisma),
    keys: deps.keys,
    signer: new LinkCodeSigner(options.linkCodeSecret ?? runtime.routerSecret, now),
    limits: runtime.limits,
    credentials: runtime.credentials,
    logger: deps.logger,
    now,
  });
  const provisioning = new ProvisioningService(runtime.bus, runtime.limits, {
    ...(options.provisioningTimeoutMs === undefined
      ? {}
      : { timeoutMs: options.provisioningTimeoutMs }),
  });
  return { linking, provisioning };
}
