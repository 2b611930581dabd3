import { ProtocolAddress, processPreKeyBundle } from '@signalapp/libsignal-client';
import { expectData, type TestAccount } from './accounts.ts';
import { postGraphQL } from './graphql-client.ts';
import {
  PRE_KEY_BUNDLE_FIELDS,
  toLibsignalBundle,
  type PreKeyBundleDeviceResponse,
  type TestSignalStores,
} from './signal-stores.ts';

const SEND_MESSAGE = `mutation ($d: String!, $i: SendMessageInput!) {
  sendMessage(destination: $d, input: $i) { __typename } }`;
const PRE_KEY_BUNDLE = `mutation ($id: String!, $device: Int) {
  preKeyBundle(serviceId: $id, deviceId: $device) { ${PRE_KEY_BUNDLE_FIELDS} } }`;

/**
 * Sends `content` (opaque bytes standing in for a ciphertext) from the device of `token` to
 * device 1 of `to`, as a `CIPHERTEXT` envelope; resolves with the `sendMessage` typename.
 */
export async function sendOpaqueMessage(
  gatewayUrl: string,
  token: string,
  to: TestAccount,
  content: Uint8Array,
): Promise<string> {
  return expectData<{ sendMessage: { __typename: string } }>(
    await postGraphQL(gatewayUrl, SEND_MESSAGE, {
      token,
      variables: {
        d: to.aci,
        i: {
          timestamp: Date.now(),
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
