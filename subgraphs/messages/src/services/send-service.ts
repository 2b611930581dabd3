import type { AuthenticatedDevice, RequestAuth } from '@courier/auth';
import {
  BadUserInputError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthenticatedError,
} from '@courier/errors';
import { signal } from '@courier/proto';
import {
  unidentifiedAccessKeyMatches,
  type AccountsClient,
  type AccountTarget,
  type SubgraphRuntime,
  parseServiceId,
} from '@courier/server';
import { checkDeviceList, type DeviceListProblem } from './device-check.ts';
import type { EnvelopeOutbox } from './envelope-outbox.ts';

/** Largest `content` of one message, as Signal (96 KiB). */
export const MAX_CONTENT_BYTES = 96 * 1024;
/** Most entries in one send (one per device; Signal allows a primary plus linked devices). */
const MAX_MESSAGES = 127;

/** Envelope types a client may send (the others are the server's own, or only inside sealed sender). */
const SENDABLE_TYPES: Readonly<Record<string, signal.Envelope.Type>> = {
  CIPHERTEXT: signal.Envelope.Type.CIPHERTEXT,
  PREKEY_BUNDLE: signal.Envelope.Type.PREKEY_BUNDLE,
  UNIDENTIFIED_SENDER: signal.Envelope.Type.UNIDENTIFIED_SENDER,
  PLAINTEXT_CONTENT: signal.Envelope.Type.PLAINTEXT_CONTENT,
};

/** One entry of `SendMessageInput.messages`: the ciphertext for one destination device. */
export interface OutgoingMessage {
  readonly deviceId: number;
  readonly registrationId: number;
  readonly type: string;
  readonly content: Uint8Array;
}

/** `SendMessageInput`. */
export interface SendMessageInput {
  readonly timestamp: number;
  readonly online?: boolean | null;
  readonly urgent?: boolean | null;
  readonly story?: boolean | null;
  readonly messages: readonly OutgoingMessage[];
}

/** `MessageAccess`: how a sender without an access token (sealed sender) is let in. */
export interface MessageAccess {
  readonly unidentifiedAccessKey: Uint8Array;
}

/** What `sendMessage` answers (the `SendMessageResult` union). */
export type SendMessageResult =
  { readonly __typename: 'SendMessageSuccess'; readonly needsSync: boolean } | DeviceListProblem;

/** What {@link SendService} works with. */
export interface SendServiceOptions {
  readonly accounts: Pick<AccountsClient, 'findTarget' | 'isBlocked'>;
  readonly outbox: Pick<EnvelopeOutbox, 'enqueue'>;
  readonly limits: Pick<SubgraphRuntime['limits'], 'consume'>;
}

function parseDestination(destination: string): { pni: boolean; uuid: string; text: string } {
  const { kind, uuid, text } = parseServiceId(destination, 'destination');
  return { pni: kind === 'PNI', uuid, text };
}

function validate(input: SendMessageInput): void {
  if (input.messages.length > MAX_MESSAGES) {
    throw new BadUserInputError(`At most ${MAX_MESSAGES} messages per send`, 'input.messages');
  }
  const seen = new Set<number>();
  input.messages.forEach((message, i) => {
    const field = `input.messages.${i}`;
    if (!Number.isInteger(message.deviceId) || message.deviceId < 1 || message.deviceId > 127) {
      throw new BadUserInputError('deviceId must be from 1 to 127', `${field}.deviceId`);
    }
    if (seen.has(message.deviceId)) {
      throw new BadUserInputError(
        `Device ${message.deviceId} has more than one message`,
        `${field}.deviceId`,
      );
    }
    seen.add(message.deviceId);
    if (message.registrationId < 0 || message.registrationId > 0x3fff) {
      throw new BadUserInputError(
        'registrationId must be from 0 to 16383',
        `${field}.registrationId`,
      );
    }
    if (!(message.type in SENDABLE_TYPES)) {
      throw new BadUserInputError(`type ${message.type} cannot be sent`, `${field}.type`);
    }
    if (message.content.length === 0) {
      throw new BadUserInputError('content must not be empty', `${field}.content`);
    }
    if (message.content.length > MAX_CONTENT_BYTES) {
      throw new PayloadTooLargeError(
        MAX_CONTENT_BYTES,
        `content exceeds ${MAX_CONTENT_BYTES} bytes`,
      );
    }
  });
}

/**
 * The device checks of a send (see {@link checkDeviceList}). `sender` (null for sealed sender) is
 * left out of its own account's expected devices.
 */
function checkDevices(
  account: AccountTarget,
  sender: AuthenticatedDevice | null,
  pni: boolean,
  input: SendMessageInput,
): DeviceListProblem | undefined {
  const expected = account.devices.filter(
    (device) => !(account.aci === sender?.aci && device.deviceId === sender?.deviceId),
  );
  const given = new Map(
    input.messages.map((message) => [message.deviceId, message.registrationId]),
  );
  return checkDeviceList(expected, given, pni);
}

/**
 * Sending one message to every device of one account (Signal's `PUT /v1/messages`), as an
 * authenticated sender: checks the device list and registration ids against the recipient's
 * account (from accounts' internal API), stores one `signal.Envelope` per device in one statement
 * before answering, then publishes each on its device's channel.
 *
 * Rules (as Signal):
 * - Sending to one's own ACI addresses one's other devices (sync copies): the sending device is
 *   not expected in the list, and naming it is an extra device.
 * - Missing or extra device ids answer `MismatchedDevices`; a registration id that is not the
 *   device's (its PNI registration id for a `PNI:` destination) answers `StaleDevices`. Nothing is
 *   stored or published then.
 * - A recipient that blocks the sender gets nothing, but the sender is told success, so it cannot
 *   learn that it is blocked (the device checks still run first, as for anyone).
 * - `online` messages are only published (reaching devices subscribed right now), never stored.
 * - Rate limit: the `messages` bucket per sender ACI → destination UUID, before any lookup.
 */
export class SendService {
  readonly #options: SendServiceOptions;

  constructor(options: SendServiceOptions) {
    this.#options = options;
  }

  /**
   * Sends `input` to `destination`: identified ({@link send}) when `auth` is a device, sealed
   * sender ({@link sendSealed}) when there is no token and `access` is given.
   *
   * @throws BadUserInputError when both a token and `access` are given; UnauthenticatedError
   *   with neither, or a rejected token; see {@link send} and {@link sendSealed}.
   */
  async sendAs(
    auth: RequestAuth,
    destination: string,
    input: SendMessageInput,
    access: MessageAccess | null | undefined,
  ): Promise<SendMessageResult> {
    if (auth.kind === 'rejected') throw new UnauthenticatedError();
    if (auth.kind === 'device') {
      if (access) {
        throw new BadUserInputError('Send either an access token or access, not both', 'access');
      }
      return this.send(auth.device, destination, input);
    }
    if (!access) throw new UnauthenticatedError();
    return this.sendSealed(destination, input, access);
  }

  /**
   * Sends a sealed-sender message: the server does not learn the sender. The destination's
   * unidentified access key must match `access` (constant time), unless the destination allows
   * unrestricted unidentified access; a wrong key and an unknown destination both answer
   * `UNAUTHENTICATED` alike. Every entry must be `UNIDENTIFIED_SENDER`. The stored envelopes carry
   * no source; there are no sync copies (`needsSync` false) and no block check (the server cannot
   * know who sends). Rate limit: the `inboundMessageBytes` bucket of the destination ACI, consumed
   * with the content size, after the access check (only key holders spend it).
   *
   * @throws UnauthenticatedError; BadUserInputError; PayloadTooLargeError; RateLimitedError.
   */
  async sendSealed(
    destination: string,
    input: SendMessageInput,
    access: MessageAccess,
  ): Promise<SendMessageResult> {
    const target = parseDestination(destination);
    validate(input);
    input.messages.forEach((message, i) => {
      if (message.type !== 'UNIDENTIFIED_SENDER') {
        throw new BadUserInputError(
          'Sealed-sender messages must be UNIDENTIFIED_SENDER',
          `input.messages.${i}.type`,
        );
      }
    });
    const account = await this.#options.accounts.findTarget(target.text);
    const keyMatches = unidentifiedAccessKeyMatches(
      account?.unidentifiedAccessKey ?? null,
      access.unidentifiedAccessKey,
    );
    if (!account || !(keyMatches || account.unrestrictedUnidentifiedAccess)) {
      throw new UnauthenticatedError('Unidentified access refused');
    }
    const bytes = input.messages.reduce((sum, message) => sum + message.content.length, 0);
    await this.#options.limits.consume('inboundMessageBytes', account.aci, bytes);
    const checked = checkDevices(account, null, target.pni, input);
    if (checked) return checked;
    await this.#enqueue(null, account.aci, target.text, input);
    return { __typename: 'SendMessageSuccess', needsSync: false };
  }

  /**
   * Sends `input` to `destination` from `sender`.
   *
   * @throws BadUserInputError for a malformed destination or message list; PayloadTooLargeError
   *   for content over 96 KiB; RateLimitedError; NotFoundError for an unknown destination.
   */
  async send(
    sender: AuthenticatedDevice,
    destination: string,
    input: SendMessageInput,
  ): Promise<SendMessageResult> {
    const target = parseDestination(destination);
    validate(input);
    const { accounts, limits } = this.#options;
    await limits.consume('messages', `${sender.aci}__${target.uuid}`);
    const toSelf = !target.pni && target.uuid === sender.aci;
    const blockedEarly =
      toSelf || target.pni ? undefined : accounts.isBlocked(target.uuid, sender.aci);
    blockedEarly?.catch(() => undefined);
    const [account, senderAccount] = await Promise.all([
      accounts.findTarget(target.text),
      toSelf ? undefined : accounts.findTarget(sender.aci),
    ]);
    if (!account) throw new NotFoundError('No such account');
    const checked = checkDevices(account, sender, target.pni, input);
    if (checked) return checked;
    const needsSync = toSelf ? false : (senderAccount?.devices.length ?? 1) > 1;
    const blocked =
      account.aci === sender.aci
        ? false
        : await (blockedEarly ?? accounts.isBlocked(account.aci, sender.aci));
    if (blocked) return { __typename: 'SendMessageSuccess', needsSync };
    await this.#enqueue(sender, account.aci, target.text, input);
    return { __typename: 'SendMessageSuccess', needsSync };
  }

  #enqueue(
    sender: AuthenticatedDevice | null,
    destinationAci: string,
    destinationServiceId: string,
    input: SendMessageInput,
  ): Promise<void> {
    return this.#options.outbox.enqueue(
      input.messages.map((message) => ({
        destinationAci,
        destinationDeviceId: message.deviceId,
        fields: {
          type: SENDABLE_TYPES[message.type]!,
          ...(sender ? { sourceServiceId: sender.aci, sourceDevice: sender.deviceId } : {}),
          destinationServiceId,
          clientTimestamp: input.timestamp,
          content: message.content,
          urgent: input.urgent ?? true,
          story: input.story ?? false,
        },
      })),
      input.online ?? false,
    );
  }
}
