import type { Logger } from '@courier/logging';
import type { SubgraphRuntime } from '@courier/server';
import type { ServerSecretParams } from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import { StubAvatarUploadForms, type AvatarUploadForms } from './avatar-upload.ts';
import { ProfileRepository } from './repository.ts';
import { ProfileService, type IsBlocked } from './service.ts';
import { loadZkServerSecretParams } from './zk-params.ts';

/** Profile settings of `createAccountsServer` (all optional). */
export interface ProfileSetupOptions {
  /**
   * zkgroup server secret params. Unset: `ZK_SERVER_SECRET_PARAMS`, or (outside production)
   * fresh params for this process; see `loadZkServerSecretParams`.
   */
  readonly zkSecretParams?: ServerSecretParams;
  /**
   * Whether an account blocked a caller (from the blocking feature). A blocked caller's
   * `profile` gets the answer for an unknown account.
   * @default never blocked
   */
  readonly isBlocked?: IsBlocked;
  /** Avatar upload forms. @default {@link StubAvatarUploadForms} until attachments serves them */
  readonly avatarUploadForms?: AvatarUploadForms;
  /** Clock of the profile service, ms since the epoch. @default Date.now */
  readonly profileClock?: () => number;
}

/** The profile service of an accounts server and the zkgroup params it was built with. */
export interface ProfileSetup {
  readonly service: ProfileService;
  readonly zkSecretParams: ServerSecretParams;
}

/**
 * Builds the profile service on a runtime.
 * @throws ConfigError when no params are given and `ZK_SERVER_SECRET_PARAMS` is invalid, or
 * unset in production.
 */
export function createProfiles(
  runtime: SubgraphRuntime,
  logger: Logger,
  options: ProfileSetupOptions = {},
): ProfileSetup {
  const zkSecretParams =
    options.zkSecretParams ?? loadZkServerSecretParams({ production: runtime.production, logger });
  const service = new ProfileService({
    store: new ProfileRepository(runtime.prisma),
    zkSecretParams,
    limits: runtime.limits,
    avatarForms: options.avatarUploadForms ?? new StubAvatarUploadForms(),
    ...(options.isBlocked ? { isBlocked: options.isBlocked } : {}),
    ...(options.profileClock ? { now: options.profileClock } : {}),
  });
  return { service, zkSecretParams };
}
