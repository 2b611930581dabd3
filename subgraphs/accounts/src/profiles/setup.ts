import type { Logger } from '@courier/logging';
import type { SubgraphRuntime } from '@courier/server';
import type { ServerSecretParams } from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import {
  AttachmentsAvatarUploadForms,
  StubAvatarUploadForms,
  type AvatarUploadForms,
} from './avatar-upload.ts';
import { ProfileRepository } from './repository.ts';
import { ProfileService, type IsBlocked } from './service.ts';

/** Profile settings of `createAccountsServer` (all optional). */
export interface ProfileSetupOptions {
  /** zkgroup server secret params. @default the runtime's (`SubgraphRuntime.zkSecretParams`) */
  readonly zkSecretParams?: ServerSecretParams;
  /**
   * Whether an account blocked a caller (from the blocking feature). A blocked caller's
   * `profile` gets the answer for an unknown account.
   * @default never blocked
   */
  readonly isBlocked?: IsBlocked;
  /**
   * Avatar upload forms.
   * @default {@link AttachmentsAvatarUploadForms} on `attachmentsUrl`; without one,
   * {@link StubAvatarUploadForms} (no working upload URL)
   */
  readonly avatarUploadForms?: AvatarUploadForms;
  /**
   * The attachments subgraph's URL (or a getter, when it listens after accounts): where avatar
   * upload forms come from.
   */
  readonly attachmentsUrl?: string | (() => string);
  /** Clock of the profile service, ms since the epoch. @default Date.now */
  readonly profileClock?: () => number;
}

/** The profile service of an accounts server and the zkgroup params it was built with. */
export interface ProfileSetup {
  readonly service: ProfileService;
  readonly zkSecretParams: ServerSecretParams;
}

/** Builds the profile service on a runtime. */
export function createProfiles(
  runtime: SubgraphRuntime,
  logger: Logger,
  options: ProfileSetupOptions = {},
): ProfileSetup {
  const zkSecretParams = options.zkSecretParams ?? runtime.zkSecretParams;
  const service = new ProfileService({
    store: new ProfileRepository(runtime.prisma),
    zkSecretParams,
    limits: runtime.limits,
    avatarForms:
      options.avatarUploadForms ??
      (options.attachmentsUrl
        ? new AttachmentsAvatarUploadForms(options.attachmentsUrl, runtime.routerSecret)
        : new StubAvatarUploadForms()),
    ...(options.isBlocked ? { isBlocked: options.isBlocked } : {}),
    ...(options.profileClock ? { now: options.profileClock } : {}),
  });
  return { service, zkSecretParams };
}
