import { signal, toSafeNumber } from '@courier/proto';

/** Envelope types as the GraphQL `EnvelopeType` enum names them. */
const TYPE_NAMES: Record<number, string> = {
  [signal.Envelope.Type.CIPHERTEXT]: 'CIPHERTEXT',
  [signal.Envelope.Type.PREKEY_BUNDLE]: 'PREKEY_BUNDLE',
  [signal.Envelope.Type.SERVER_DELIVERY_RECEIPT]: 'SERVER_DELIVERY_RECEIPT',
  [signal.Envelope.Type.UNIDENTIFIED_SENDER]: 'UNIDENTIFIED_SENDER',
  [signal.Envelope.Type.SENDERKEY_MESSAGE]: 'SENDERKEY_MESSAGE',
  [signal.Envelope.Type.PLAINTEXT_CONTENT]: 'PLAINTEXT_CONTENT',
};

/** An envelope as the GraphQL `Envelope` type serves it. */
export interface EnvelopeModel {
  readonly __typename: 'Envelope';
  readonly guid: string;
  readonly serverTimestamp: number;
  readonly type: string;
  readonly sourceServiceId: string | null;
  readonly sourceDevice: number | null;
  readonly destinationServiceId: string;
  readonly clientTimestamp: number;
  readonly content: Uint8Array | null;
  readonly urgent: boolean;
  readonly story: boolean;
  readonly ephemeral: boolean;
  readonly protobuf: Uint8Array;
}

/** The marker sent once stored envelopes have all been delivered. */
export interface QueueEmptyModel {
  readonly __typename: 'QueueEmpty';
  readonly empty: true;
}

/**
 * The last event of a stream that a newer connection of the same device replaced; the
 * subscription resolver turns it into a `CONFLICT` error, never into data.
 */
export interface ReplacedModel {
  readonly __typename: 'Replaced';
}

export type EnvelopeEventModel = EnvelopeModel | QueueEmptyModel | ReplacedModel;

export const QUEUE_EMPTY: QueueEmptyModel = { __typename: 'QueueEmpty', empty: true };
export const REPLACED: ReplacedModel = { __typename: 'Replaced' };

/** Decodes a stored/published `Envelope` protobuf into what the graph serves. */
export function envelopeModelOf(bytes: Uint8Array): EnvelopeModel {
  const envelope = signal.Envelope.decode(bytes);
  return {
    __typename: 'Envelope',
    guid: envelope.serverGuid,
    serverTimestamp: toSafeNumber(envelope.serverTimestamp),
    type: TYPE_NAMES[envelope.type] ?? 'UNKNOWN',
    sourceServiceId: envelope.sourceServiceId || null,
    sourceDevice: envelope.sourceDevice || null,
    destinationServiceId: envelope.destinationServiceId,
    clientTimestamp: toSafeNumber(envelope.clientTimestamp),
    content: envelope.content.length > 0 ? new Uint8Array(envelope.content) : null,
    urgent: envelope.urgent,
    story: envelope.story,
    ephemeral: envelope.ephemeral,
    protobuf: bytes,
  };
}
