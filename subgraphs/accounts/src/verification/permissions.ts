import { allow, isPublic } from '@courier/server';

/**
 * Permission rules of the verification fields: all public (a verification session precedes any
 * account), refused only when the request carries an invalid token.
 */
export const verificationPermissions = {
  Query: { verificationSession: isPublic },
  Mutation: {
    createVerificationSession: isPublic,
    requestVerificationCode: isPublic,
    submitVerificationCode: isPublic,
  },
  VerificationSession: allow,
};
