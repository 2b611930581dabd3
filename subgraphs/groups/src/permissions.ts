import { allow, isAuthenticated, isPublic } from '@courier/server';

/**
 * Permission rules of the groups subgraph. Auth credentials need the account's access token;
 * group requests are public at the edge because they authenticate with a zkgroup auth
 * credential presentation (`auth`), which the service verifies, and carry no account identity.
 */
export const permissions = {
  Query: {
    groupLimits: isPublic,
    groupAuthCredentials: isAuthenticated,
    group: isPublic,
    groupChanges: isPublic,
    groupJoinInfo: isPublic,
  },
  Mutation: { createGroup: isPublic, modifyGroup: isPublic },
  GroupLimits: allow,
  GroupAuthCredentials: allow,
  GroupAuthCredential: allow,
  GroupSendEndorsements: allow,
  Group: allow,
  GroupChangeResult: allow,
  GroupChangeEntry: allow,
  GroupChangesPage: allow,
  GroupJoinInfo: allow,
};
