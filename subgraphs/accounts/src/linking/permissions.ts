import { allow, isAuthenticated, isPublic } from '@courier/server';

/**
 * Permission rules of the linking fields: the new device has no account yet, so the
 * `provisioning` subscription and `linkDevice` (authorised by the link code) are public; making
 * a code and sending a provisioning message need a device's token.
 */
export const linkingPermissions = {
  Subscription: { provisioning: isPublic },
  Mutation: {
    createLinkDeviceCode: isAuthenticated,
    sendProvisioningMessage: isAuthenticated,
    linkDevice: isPublic,
  },
  LinkDeviceCode: allow,
  LinkedDevice: allow,
  ProvisioningAddress: allow,
  ProvisioningMessage: allow,
};
