import type { BaseContext } from '@courier/server';
import type { AccountService } from './services/account-service.ts';
import type { AccountAttributesService } from './services/account-attributes-service.ts';
import type { AccountDeletionService } from './services/account-deletion-service.ts';
import type { BlockService } from './services/block-service.ts';
import type { DeviceService } from './services/device-service.ts';
import type { RegistrationService } from './services/registration-service.ts';
import type { SessionService } from './services/session-service.ts';
import type { VerificationService } from './verification/index.ts';
import type { LinkingService, ProvisioningService } from './linking/index.ts';
import type { ProfileService } from './profiles/index.ts';

/** The accounts subgraph's GraphQL context. */
export interface AccountsContext extends BaseContext {
  readonly accounts: AccountService;
  readonly registration: RegistrationService;
  readonly sessions: SessionService;
  readonly devices: DeviceService;
  readonly attributes: AccountAttributesService;
  readonly blocks: BlockService;
  readonly deletion: AccountDeletionService;
  readonly verification: VerificationService;
  /** Device linking: link codes and `linkDevice`. */
  readonly linking: LinkingService;
  /** The provisioning relay between a new device and the primary. */
  readonly provisioning: ProvisioningService;
  /** Versioned profiles and profile key credentials. */
  readonly profiles: ProfileService;
}
