import { randomUUID } from 'node:crypto';
import {
  ContentHint,
  ProtocolAddress,
  SenderCertificate,
  SenderKeyDistributionMessage,
  UnidentifiedSenderMessageContent,
  groupEncrypt,
  processPreKeyBundle,
  sealedSenderMultiRecipientEncrypt,
} from '@signalapp/libsignal-client';
import { expectData, type TestAccount } from './accounts.ts';
import { postGraphQL } from './graphql-client.ts';
import {
  PRE_KEY_BUNDLE_FIELDS,
  toLibsignalBundle,
  TestSignalStores,
  type PreKeyBundleDeviceResponse,
} from './signal-stores.ts';

const SEND_MESSAGE = `mutation ($d: String!, $i: SendMessageInput!) {
  sendMessage(destination: $d, input: $i) { __typename } }`;
const PRE_KEY_BUNDLE = `mutation ($id: String!, $device: Int) {
  preKeyBundle(serviceId: $id, deviceId: $device) { ${PRE_KEY_BUNDLE_FIELDS} } }`;

/**
 * Sends `content` (opaque bytes standing in for a ciphertext) from the device of `token` to
 * device 1 of `to`, as a `CIPHERTEXT` envelope stamped `timestamp`; resolves with the
 * `sendMessage` typename.
 */
export async function sendOpaqueMessage(
  gatewayUrl: string,
  token: string,
  to: TestAccount,
  content: Uint8Array,
  timestamp: number = Date.now(),
): Promise<string> {
  return expectData<{ sendMessage: { __typename: string } }>(
    await postGraphQL(gatewayUrl, SEND_MESSAGE, {
      token,
      variables: {
        d: to.aci,
        i: {
          timestamp,
          messages: [
            {
              deviceId: 1,
              registrationId: to.aciIdentity.registrationId,
              type: 'CIPHERTEXT',
              content: Buffer.from(content).toString('base64'),
            },
          ],
        },
      },
    }),
    'sendMessage',
  ).sendMessage.__typename;
}

/**
 * The sender's side of PQXDH: fetches `target`'s prekey bundle through the gateway (one device,
 * or every device when `deviceId` is null) as the device of `token`, and starts a session in
 * `stores` with each; resolves with the target devices' addresses.
 */
export async function startSessions(
  gatewayUrl: string,
  from: { readonly token: string; readonly address: ProtocolAddress },
  stores: TestSignalStores,
  targetAci: string,
  deviceId: number | null = null,
): Promise<ProtocolAddress[]> {
  const bundle = expectData<{
    preKeyBundle: { identityKey: string; devices: PreKeyBundleDeviceResponse[] };
  }>(
    await postGraphQL(gatewayUrl, PRE_KEY_BUNDLE, {
      token: from.token,
      variables: { id: targetAci, device: deviceId },
    }),
    'preKeyBundle',
  ).preKeyBundle;
  const addresses: ProtocolAddress[] = [];
  for (const device of bundle.devices) {
    const address = ProtocolAddress.new(targetAci, device.deviceId);
    await processPreKeyBundle(
      toLibsignalBundle(bundle.identityKey, device),
      address,
      from.address,
      stores.sessions,
      stores.identity,
    );
    addresses.push(address);
  }
  return addresses;
}

/**
 * A sealed-sender multi-recipient payload from device 1 of `sender` to every device of each of
 * `recipientAcis`: sessions started from their prekey bundles (see {@link startSessions}), and
 * `plaintext` as a sender-key group message under the sender certificate the gateway issues.
 */
export async function multiRecipientPayload(
  gatewayUrl: string,
  sender: TestAccount,
  recipientAcis: readonly string[],
  plaintext: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array> {
  const stores = TestSignalStores.forIdentity(sender.aciIdentity);
  const from = { token: sender.token, address: ProtocolAddress.new(sender.aci, 1) };
  const addresses: ProtocolAddress[] = [];
  for (const aci of recipientAcis) {
    addresses.push(...(await startSessions(gatewayUrl, from, stores, aci)));
  }
  const certificate = expectData<{ senderCertificate: { certificate: string } }>(
    await postGraphQL(gatewayUrl, '{ senderCertificate { certificate } }', { token: sender.token }),
    'senderCertificate',
  ).senderCertificate.certificate;
  const distributionId = randomUUID();
  await SenderKeyDistributionMessage.create(from.address, distributionId, stores.senderKeys);
  const content = UnidentifiedSenderMessageContent.new(
    await groupEncrypt(from.address, distributionId, stores.senderKeys, plaintext),
    SenderCertificate.deserialize(new Uint8Array(Buffer.from(certificate, 'base64'))),
    ContentHint.Implicit,
    null,
  );
  return sealedSenderMultiRecipientEncrypt(content, addresses, stores.identity, stores.sessions);
}

/** The XOR of 16-byte unidentified access keys: a multi-recipient send's combined access key. */
export function combinedAccessKey(keys: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const combined = new Uint8Array(16);
  for (const key of keys) for (let i = 0; i < 16; i++) combined[i]! ^= key[i]!;
  return combined;
}
