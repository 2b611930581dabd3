import { allow } from '@courier/server';

export const permissions = {
  Account: { aci: allow, identityKey: allow },
};
