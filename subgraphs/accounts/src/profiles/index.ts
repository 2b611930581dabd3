/**
 * Versioned profiles of the accounts subgraph: validation, repository, service (access rules,
 * expiring profile key credentials), zkgroup server params, resolvers and permissions.
 *
 * @packageDocumentation
 */
export {
  AttachmentsAvatarUploadForms,
  StubAvatarUploadForms,
  type AvatarUploadForm,
  type AvatarUploadForms,
  type StubAvatarUploadFormsOptions,
} from './avatar-upload.ts';
export { profilePermissions } from './permissions.ts';
export {
  ProfileRepository,
  type AvatarWrite,
  type ProfileOwner,
  type ProfileRecord,
  type ProfileStore,
  type SaveVersionResult,
} from './repository.ts';
export { profileResolvers } from './resolvers.ts';
export {
  PROFILE_KEY_CREDENTIAL_DAYS,
  ProfileService,
  profileKeyCredentialExpiration,
  unidentifiedAccessChecksum,
  type IsBlocked,
  type ProfileAccess,
  type ProfileQuery,
  type ProfileServiceOptions,
  type ProfileView,
  type SetProfileResult,
} from './service.ts';
export { createProfiles, type ProfileSetup, type ProfileSetupOptions } from './setup.ts';
export {
  PROFILE_LIMITS,
  normalizeProfileVersion,
  validateProfileInput,
  type ProfileAvatarChange,
  type SetProfileInput,
  type ValidProfileWrite,
} from './validation.ts';
