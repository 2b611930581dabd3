import { allow, isAuthenticated, isPublic, rule, type BaseContext } from '@courier/server';
import { ForbiddenError } from '@courier/errors';
import { verificationPermissions } from './verification/index.ts';
import { linkingPermissions } from './linking/index.ts';
import { profilePermissions } from './profiles/index.ts';

/** The account's own device is asking about its own account. */
const isOwnAccount = rule({ cache: 'strict' })(
  (parent: { aci: string }, _args, context: BaseContext) =>
    context.auth.kind === 'device' && context.auth.device.aci === parent.aci
      ? true
      : new ForbiddenError('Only the account itself can read this field'),
);

export const permissions = {
  Query: {
    me: isAuthenticated,
    devices: isAuthenticated,
    blockedAccounts: isAuthenticated,
    ...verificationPermissions.Query,
    ...profilePermissions.Query,
  },
  Mutation: {
    registerAccount: isPublic,
    login: isPublic,
    setAccountAttributes: isAuthenticated,
    removeDevice: isAuthenticated,
    blockAccount: isAuthenticated,
    unblockAccount: isAuthenticated,
    deleteAccount: isAuthenticated,
    ...verificationPermissions.Mutation,
    ...linkingPermissions.Mutation,
    ...profilePermissions.Mutation,
  },
  VerificationSession: verificationPermissions.VerificationSession,
  Subscription: linkingPermissions.Subscription,
  LinkDeviceCode: linkingPermissions.LinkDeviceCode,
  LinkedDevice: linkingPermissions.LinkedDevice,
  ProvisioningAddress: linkingPermissions.ProvisioningAddress,
  ProvisioningMessage: linkingPermissions.ProvisioningMessage,
  Profile: profilePermissions.Profile,
  SetProfileResult: profilePermissions.SetProfileResult,
  ProfileAvatarUploadForm: profilePermissions.ProfileAvatarUploadForm,
  ProfileAvatarUploadHeader: profilePermissions.ProfileAvatarUploadHeader,
  Device: allow,
  AccountAttributesResult: allow,
  Registration: allow,
  AccessToken: allow,
  Account: { aci: allow, pni: isOwnAccount, number: isOwnAccount, createdAt: isOwnAccount },
};
