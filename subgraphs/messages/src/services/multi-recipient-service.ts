import type { RequestAuth } from '@courier/auth';
import { BadUserInputError, PayloadTooLargeError, UnauthenticatedError } from '@courier/errors';
import { signal } from '@courier/proto';
import {
  UNIDENTIFIED_ACCESS_KEY_BYTES,
  unidentifiedAccessKeyMatches,
  verifyGroupSendToken,
  type AccountsClient,
  type AccountTarget,
  parseServiceId,
} from '@courier/server';
import SealedSenderMultiRecipientMessage, {
  type Recipient,
} from '@signalapp/libsignal-client/dist/SealedSenderMultiRecipientMessage.js';
import type { ServerSecretParams } from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import { checkDeviceList } from './device-check.ts';
import type { EnvelopeOutbox, OutgoingEnvelope } from './envelope-outbox.ts';

/** Largest multi-recipient payload, as Signal (256 KiB). */
export const MAX_MULTI_RECIPIENT_PAYLOAD_BYTES = 256 * 1024;
/** Most recipients of one multi-recipient send, as Signal. */
export const MAX_MULTI_RECIPIENTS = 5000;

/** `sendMultiRecipientMessage`'s arguments. */
export interface MultiRecipientSendInput {
  /** libsignal's `SealedSenderMultiRecipientMessage` ("SentMessage", sealed sender v2). */
  readonly payload: Uint8Array;
  readonly timestamp: number;
  readonly online?: boolean | null;
  readonly urgent?: boolean | null;
  readonly story?: boolean | null;
  /** A `GroupSendFullToken` endorsing every recipient (and excluded recipient). */
  readonly groupSendToken?: Uint8Array | null;
  /** The XOR of every recipient's unidentified access key (those without unrestricted access). */
  readonly unidentifiedAccessKey?: Uint8Array | null;
}

/** A recipient whose devices do not match the payload's. */
export interface RecipientMismatchedDevices {
  readonly serviceId: string;
  readonly missingDevices: number[];
  readonly extraDevices: number[];
}

/** A recipient with re-registered devices. */
export interface RecipientStaleDevices {
  readonly serviceId: string;
  readonly staleDevices: number[];
}

/** What `sendMultiRecipientMessage` answers (the `SendMultiRecipientMessageResult` union). */
export type MultiRecipientSendResult =
  | { readonly __typename: 'MultiRecipientMessageSuccess'; readonly unknownRecipients: string[] }
  | {
      readonly __typename: 'MultiRecipientMismatchedDevices';
      readonly recipients: RecipientMismatchedDevices[];
    }
  | {
      readonly __typename: 'MultiRecipientStaleDevices';
      readonly recipients: RecipientStaleDevices[];
    };

/** What {@link MultiRecipientSendService} works with. */
export interface MultiRecipientSendServiceOptions {
  readonly accounts: Pick<AccountsClient, 'findTargets'>;
  readonly outbox: Pick<EnvelopeOutbox, 'enqueue'>;
  readonly zkSecretParams: ServerSecretParams;
  /** @default Date.now */
  readonly now?: () => number;
}

interface ParsedRecipient {
  readonly serviceId: string;
  readonly pni: boolean;
  readonly devices: Recipient;
  readonly content: Uint8Array;
}

function parsePayload(payload: Uint8Array): {
  recipients: ParsedRecipient[];
  excluded: string[];
} {
  if (payload.length > MAX_MULTI_RECIPIENT_PAYLOAD_BYTES) {
    throw new PayloadTooLargeError(
      MAX_MULTI_RECIPIENT_PAYLOAD_BYTES,
      `payload exceeds ${MAX_MULTI_RECIPIENT_PAYLOAD_BYTES} bytes`,
    );
  }
  let message: SealedSenderMultiRecipientMessage;
  try {
    message = new SealedSenderMultiRecipientMessage(new Uint8Array(payload));
  } catch {
    throw new BadUserInputError(
      'payload is not a sealed-sender multi-recipient message',
      'payload',
    );
  }
  const byServiceId = message.recipientsByServiceIdString();
  const entries = Object.entries(byServiceId);
  if (entries.length === 0) throw new BadUserInputError('payload has no recipients', 'payload');
  if (entries.length > MAX_MULTI_RECIPIENTS) {
    throw new BadUserInputError(`At most ${MAX_MULTI_RECIPIENTS} recipients per send`, 'payload');
  }
  const recipients = entries.map(([text, devices]) => {
    const { kind, text: serviceId } = parseServiceId(text, 'payload');
    if (new Set(devices.deviceIds).size !== devices.deviceIds.length) {
      throw new BadUserInputError(`Recipient ${serviceId} names a device twice`, 'payload');
    }
    return {
      serviceId,
      pni: kind === 'PNI',
      devices,
      content: message.messageForRecipient(devices),
    };
  });
  const excluded = message
    .excludedRecipientServiceIdStrings()
    .map((text) => parseServiceId(text, 'payload').text);
  return { recipients, excluded };
}

function combinedAccessKey(accounts: readonly AccountTarget[]): Uint8Array | null {
  const combined = new Uint8Array(UNIDENTIFIED_ACCESS_KEY_BYTES);
  for (const account of accounts) {
    if (account.unrestrictedUnidentifiedAccess) continue;
    const key = account.unidentifiedAccessKey;
    if (!key || key.length !== UNIDENTIFIED_ACCESS_KEY_BYTES) return null;
    for (let i = 0; i < UNIDENTIFIED_ACCESS_KEY_BYTES; i++) combined[i]! ^= key[i]!;
  }
  return combined;
}

function checkRecipientDevices(
  recipients: readonly ParsedRecipient[],
  accounts: ReadonlyMap<string, AccountTarget | null>,
): MultiRecipientSendResult | undefined {
  const mismatched: RecipientMismatchedDevices[] = [];
  const stale: RecipientStaleDevices[] = [];
  for (const recipient of recipients) {
    const account = accounts.get(recipient.serviceId);
    if (!account) continue;
    const given = new Map(
      recipient.devices.deviceIds.map((id, i) => [id, recipient.devices.registrationIds[i]!]),
    );
    const problem = checkDeviceList(account.devices, given, recipient.pni);
    if (problem?.__typename === 'MismatchedDevices') {
      const { missingDevices, extraDevices } = problem;
      mismatched.push({ serviceId: recipient.serviceId, missingDevices, extraDevices });
    } else if (problem) {
      stale.push({ serviceId: recipient.serviceId, staleDevices: problem.staleDevices });
    }
  }
  if (mismatched.length > 0) {
    return { __typename: 'MultiRecipientMismatchedDevices', recipients: mismatched };
  }
  if (stale.length > 0) return { __typename: 'MultiRecipientStaleDevices', recipients: stale };
  return undefined;
}

/**
 * Multi-recipient sealed-sender sends (Signal's `PUT /v1/messages/multi_recipient`): one libsignal
 * `SealedSenderMultiRecipientMessage` carries a shared ciphertext and a small per-recipient
 * header; the server parses it with libsignal, checks every recipient's devices and registration
 * ids, and enqueues each recipient's own `ReceivedMessage` for each of its devices as an
 * `UNIDENTIFIED_SENDER` envelope with no sender, all in one insert.
 *
 * Access (the sender is anonymous; there is no access token):
 * - a group send token (`GroupSendFullToken`) endorsing exactly the recipients plus the payload's
 *   excluded recipients, verified with the deployment's zkgroup params; unknown recipients are
 *   then skipped and reported (`unknownRecipients`), as Signal's `uuids404`;
 * - or the XOR of every recipient's unidentified access key (recipients that allow unrestricted
 *   access add nothing), compared in constant time; an unknown recipient makes it fail, since
 *   its key cannot be part of the combination;
 * - or `story`: stories need no access, and unknown recipients are skipped silently.
 *
 * Device checks: any recipient whose device ids differ from its account's answers
 * `MultiRecipientMismatchedDevices` for every such recipient; otherwise any registration id that
 * is not the device's (its PNI registration id for a `PNI:` recipient) answers
 * `MultiRecipientStaleDevices`. Nothing is stored or published then.
 */
export class MultiRecipientSendService {
  readonly #options: MultiRecipientSendServiceOptions;
  readonly #now: () => number;

  constructor(options: MultiRecipientSendServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Sends `input` as an anonymous sender.
   *
   * @throws BadUserInputError for a malformed payload or arguments; PayloadTooLargeError beyond
   *   256 KiB; UnauthenticatedError when an access token is sent, or for a wrong combined access
   *   key or an expired or malformed group send token; ForbiddenError for a group send token
   *   that does not endorse these recipients.
   */
  async send(auth: RequestAuth, input: MultiRecipientSendInput): Promise<MultiRecipientSendResult> {
    if (auth.kind !== 'anonymous') {
      throw new UnauthenticatedError(
        'Multi-recipient messages are sealed sender: send no access token',
      );
    }
    const modes = [input.groupSendToken, input.unidentifiedAccessKey].filter(
      (value) => value !== null && value !== undefined,
    ).length;
    if (modes > 1) {
      throw new BadUserInputError('Send either groupSendToken or access, not both');
    }
    const story = input.story ?? false;
    if (modes === 0 && !story) throw new UnauthenticatedError('Unidentified access refused');
    const { recipients, excluded } = parsePayload(input.payload);
    if (input.groupSendToken) {
      verifyGroupSendToken(
        this.#options.zkSecretParams,
        input.groupSendToken,
        [...recipients.map((recipient) => recipient.serviceId), ...excluded],
        new Date(this.#now()),
      );
    }
    const accounts = await this.#options.accounts.findTargets(
      recipients.map((recipient) => recipient.serviceId),
    );
    const unknownRecipients = recipients
      .filter((recipient) => !accounts.get(recipient.serviceId))
      .map((recipient) => recipient.serviceId);
    if (input.unidentifiedAccessKey) {
      const known = recipients.flatMap((recipient) => accounts.get(recipient.serviceId) ?? []);
      const expected = unknownRecipients.length > 0 ? null : combinedAccessKey(known);
      if (!unidentifiedAccessKeyMatches(expected, input.unidentifiedAccessKey)) {
        throw new UnauthenticatedError('Unidentified access refused');
      }
    }
    const checked = checkRecipientDevices(recipients, accounts);
    if (checked) return checked;
    const envelopes: OutgoingEnvelope[] = [];
    for (const recipient of recipients) {
      const account = accounts.get(recipient.serviceId);
      if (!account) continue;
      for (const deviceId of recipient.devices.deviceIds) {
        envelopes.push({
          destinationAci: account.aci,
          destinationDeviceId: deviceId,
          fields: {
            type: signal.Envelope.Type.UNIDENTIFIED_SENDER,
            destinationServiceId: recipient.serviceId,
            clientTimestamp: input.timestamp,
            content: recipient.content,
            urgent: input.urgent ?? true,
            story,
          },
        });
      }
    }
    await this.#options.outbox.enqueue(envelopes, input.online ?? false);
    return {
      __typename: 'MultiRecipientMessageSuccess',
      unknownRecipients: story || input.groupSendToken ? unknownRecipients : [],
    };
  }
}
