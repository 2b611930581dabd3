import { allow, isAuthenticated, isPublic } from '@courier/server';

/**
 * Permission rules of the profile fields. `profile` is public at the edge (anonymous callers
 * present an unidentified access key; the service decides access), `setProfile` needs a device
 * token, `zkServerPublicParams` is public.
 */
export const profilePermissions = {
  Query: { profile: isPublic, zkServerPublicParams: isPublic },
  Mutation: { setProfile: isAuthenticated },
  Profile: allow,
  SetProfileResult: allow,
  ProfileAvatarUploadForm: allow,
  ProfileAvatarUploadHeader: allow,
};
