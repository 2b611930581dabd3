import { allow, isPublic } from '@courier/server';

export const permissions = {
  Query: { groupLimits: isPublic },
  GroupLimits: allow,
};
