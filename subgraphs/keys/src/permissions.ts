import { allow, isAuthenticated, isPublic } from '@courier/server';

/**
 * Permission rules of the keys subgraph. `preKeyBundle` is public at the edge (anonymous callers
 * present an unidentified access key; the service decides access); the rest acts on the calling
 * device's own keys and needs its access token.
 */
export const permissions = {
  Query: { preKeyCounts: isAuthenticated, checkPreKeys: isAuthenticated },
  Mutation: { setPreKeys: isAuthenticated, preKeyBundle: isPublic },
  Account: { aci: allow, identityKey: allow },
  PreKeyCounts: allow,
  PreKeyBundle: allow,
  PreKeyBundleDevice: allow,
  PreKey: allow,
  SignedPreKey: allow,
};
