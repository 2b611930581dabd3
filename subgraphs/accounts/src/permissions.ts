import { allow, isAuthenticated, rule, type BaseContext } from '@courier/server';
import { ForbiddenError } from '@courier/errors';

/** The account's own device is asking about its own account. */
const isOwnAccount = rule({ cache: 'strict' })(
  (parent: { aci: string }, _args, context: BaseContext) =>
    context.auth.kind === 'device' && context.auth.device.aci === parent.aci
      ? true
      : new ForbiddenError('Only the account itself can read this field'),
);

export const permissions = {
  Query: { me: isAuthenticated },
  Account: { aci: allow, pni: allow, number: isOwnAccount, createdAt: isOwnAccount },
};
