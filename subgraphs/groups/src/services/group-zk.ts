import { BadUserInputError, UnauthenticatedError } from '@courier/errors';
import { Aci, Pni } from '@signalapp/libsignal-client/dist/Address.js';
import {
  AuthCredentialPresentation,
  GroupPublicParams,
  GroupSendEndorsementsResponse,
  ProfileKeyCredentialPresentation,
  ServerZkAuthOperations,
  ServerZkProfileOperations,
  UuidCiphertext,
  type ServerSecretParams,
} from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import { groupSendKeyPair } from '@courier/server';
import type { Presenter, ProvenMember } from './group-rules.ts';

export const DAY_MS = 86_400_000;
/** Size of serialized `GroupPublicParams`. */
export const GROUP_PUBLIC_PARAMS_BYTES = 97;
/** Largest zkgroup presentation accepted (real ones are well under 1 KiB). */
export const MAX_PRESENTATION_BYTES = 4096;
/** Endorsements are not issued with less than this much validity left (Signal's rule). */
const MIN_ENDORSEMENT_VALIDITY_MS = 6 * 3_600_000;

/** `auth` of every group request: the group's public params and an auth credential presentation. */
export interface GroupAuthInput {
  readonly publicParams: Uint8Array;
  readonly presentation: Uint8Array;
}

/** A verified `auth`: which group, and who asks (as ciphertexts under the group's params). */
export interface VerifiedGroupAuth {
  /** The 32-byte group identifier derived from the public params. */
  readonly groupId: Buffer;
  readonly publicParams: GroupPublicParams;
  readonly publicParamsBytes: Buffer;
  readonly presenter: Presenter;
}

/** An issued group auth credential for one day. */
export interface IssuedAuthCredential {
  /** Days since the Unix epoch. */
  readonly day: number;
  /** Redemption time, ms since the epoch (start of `day`). */
  readonly redemptionTime: number;
  /** Serialized `AuthCredentialWithPniResponse`. */
  readonly credential: Uint8Array;
}

/** Issued group send endorsements. */
export interface IssuedEndorsements {
  /** ms since the epoch, day-aligned. */
  readonly expiresAt: number;
  /** Serialized `GroupSendEndorsementsResponse`. */
  readonly response: Uint8Array;
}

function parse<T>(make: () => T, onError: () => never): T {
  try {
    return make();
  } catch {
    return onError();
  }
}

/**
 * Every zkgroup operation of the groups subgraph, on the deployment's server secret params:
 * issuing auth credentials, verifying auth and profile key credential presentations, issuing
 * group send endorsements, and signing group changes.
 */
export class GroupZk {
  readonly #params: ServerSecretParams;
  readonly #auth: ServerZkAuthOperations;
  readonly #profiles: ServerZkProfileOperations;

  constructor(params: ServerSecretParams) {
    this.#params = params;
    this.#auth = new ServerZkAuthOperations(params);
    this.#profiles = new ServerZkProfileOperations(params);
  }

  /** Auth credentials with ACI and PNI for each day (redemption time = start of the day). */
  issueAuthCredentials(aci: string, pni: string, days: readonly number[]): IssuedAuthCredential[] {
    const aciId = Aci.fromUuid(aci);
    const pniId = Pni.fromUuid(pni);
    return days.map((day) => ({
      day,
      redemptionTime: day * DAY_MS,
      credential: this.#auth
        .issueAuthCredentialWithPniZkc(aciId, pniId, (day * DAY_MS) / 1000)
        .serialize(),
    }));
  }

  /**
   * Verifies `auth`: public params that parse, and an auth credential presentation this
   * server's params issued, presented for exactly these group params and current.
   *
   * @throws BadUserInputError for malformed public params; UnauthenticatedError for a
   * presentation that is malformed, forged, for other params or expired.
   */
  verifyAuth(input: GroupAuthInput, now: Date): VerifiedGroupAuth {
    const publicParamsBytes = Buffer.from(input.publicParams);
    if (publicParamsBytes.length !== GROUP_PUBLIC_PARAMS_BYTES) {
      throw new BadUserInputError(
        `auth.publicParams must be ${GROUP_PUBLIC_PARAMS_BYTES} bytes`,
        'auth.publicParams',
      );
    }
    const publicParams = parse(
      () => new GroupPublicParams(new Uint8Array(publicParamsBytes)),
      () => {
        throw new BadUserInputError(
          'auth.publicParams is not GroupPublicParams',
          'auth.publicParams',
        );
      },
    );
    const refuse = (): never => {
      throw new UnauthenticatedError('Invalid group auth credential presentation');
    };
    if (input.presentation.length > MAX_PRESENTATION_BYTES) refuse();
    const presentation = parse(
      () => new AuthCredentialPresentation(new Uint8Array(input.presentation)),
      refuse,
    );
    parse(
      () => this.#auth.verifyAuthCredentialPresentation(publicParams, presentation, now),
      refuse,
    );
    const presenter = parse(
      () => ({
        aci: Buffer.from(presentation.getUuidCiphertext().serialize()),
        pni: Buffer.from(presentation.getPniCiphertext().serialize()),
      }),
      refuse,
    );
    return {
      groupId: Buffer.from(publicParams.getGroupIdentifier().serialize()),
      publicParams,
      publicParamsBytes,
      presenter,
    };
  }

  /**
   * A verifier of profile key credential presentations for one group (the rules' `proveMember`).
   */
  memberProver(
    publicParams: GroupPublicParams,
    now: Date,
  ): (presentation: Uint8Array, field: string) => ProvenMember {
    return (bytes, field) => {
      const refuse = (): never => {
        throw new BadUserInputError(
          `${field} is not a valid profile key credential presentation for this group`,
          field,
        );
      };
      if (bytes.length === 0 || bytes.length > MAX_PRESENTATION_BYTES) refuse();
      const presentation = parse(
        () => new ProfileKeyCredentialPresentation(new Uint8Array(bytes)),
        refuse,
      );
      parse(
        () =>
          this.#profiles.verifyProfileKeyCredentialPresentation(publicParams, presentation, now),
        refuse,
      );
      return {
        userId: Buffer.from(presentation.getUuidCiphertext().serialize()),
        profileKey: Buffer.from(presentation.getProfileKeyCiphertext().serialize()),
      };
    };
  }

  /** When endorsements issued at `now` expire (ms, day-aligned; see {@link endorse}). */
  endorsementExpiry(now: number): number {
    const expiresAt = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
    return expiresAt - now < MIN_ENDORSEMENT_VALIDITY_MS ? expiresAt + DAY_MS : expiresAt;
  }

  /**
   * Group send endorsements for every full member (ACI ciphertexts), expiring at the next
   * midnight UTC, or the one after when less than 6 hours are left.
   */
  endorse(memberIds: readonly Uint8Array[], now: number): IssuedEndorsements {
    const expiresAt = this.endorsementExpiry(now);
    const keyPair = groupSendKeyPair(this.#params, new Date(expiresAt));
    const ciphertexts = memberIds.map((id) => new UuidCiphertext(new Uint8Array(id)));
    return {
      expiresAt,
      response: GroupSendEndorsementsResponse.issue(ciphertexts, keyPair).serialize(),
    };
  }

  /** The server's signature over encoded change actions (a serialized `NotarySignature`). */
  sign(actions: Uint8Array): Uint8Array {
    return this.#params.sign(new Uint8Array(actions)).serialize();
  }
}
