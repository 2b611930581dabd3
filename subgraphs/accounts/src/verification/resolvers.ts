import type { GraphQLResolverMap } from '@courier/server';
import type { AccountsContext } from '../context.ts';
import type { VerificationTransport } from './policy.ts';

type Resolvers = GraphQLResolverMap<AccountsContext>;

/** Resolvers of the verification fields; thin: each calls the verification service. */
export const verificationResolvers = {
  Query: {
    verificationSession: (_parent, args: { id: string }, context) =>
      context.verification.getSession(args.id),
  },
  Mutation: {
    createVerificationSession: (_parent, args: { number: string }, context) =>
      context.verification.createSession(args.number),
    requestVerificationCode: (
      _parent,
      args: { sessionId: string; transport: VerificationTransport; locale?: string | null },
      context,
    ) => context.verification.requestCode(args.sessionId, args.transport, args.locale),
    submitVerificationCode: (_parent, args: { sessionId: string; code: string }, context) =>
      context.verification.submitCode(args.sessionId, args.code),
  },
} satisfies Record<'Query' | 'Mutation', Resolvers[string]>;
