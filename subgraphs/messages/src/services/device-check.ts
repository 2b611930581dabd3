import type { AccountTarget } from '@courier/server';

/** Why a send's device list does not fit its destination account (as `sendMessage` answers). */
export type DeviceListProblem =
  | {
      readonly __typename: 'MismatchedDevices';
      readonly missingDevices: number[];
      readonly extraDevices: number[];
    }
  | { readonly __typename: 'StaleDevices'; readonly staleDevices: number[] };

/**
 * Checks the devices a send names (`given`: device id → registration id) against the devices it
 * must reach (`expected`): `MismatchedDevices` for missing or extra device ids, else
 * `StaleDevices` for registration ids that are not the devices' own (their PNI registration ids
 * when `pni`), else undefined. Device ids in the answer are sorted.
 */
export function checkDeviceList(
  expected: AccountTarget['devices'],
  given: ReadonlyMap<number, number>,
  pni: boolean,
): DeviceListProblem | undefined {
  const expectedIds = new Set(expected.map((device) => device.deviceId));
  const missingDevices = [...expectedIds].filter((id) => !given.has(id)).sort((a, b) => a - b);
  const extraDevices = [...given.keys()].filter((id) => !expectedIds.has(id)).sort((a, b) => a - b);
  if (missingDevices.length > 0 || extraDevices.length > 0) {
    return { __typename: 'MismatchedDevices', missingDevices, extraDevices };
  }
  const staleDevices = expected
    .filter(
      (device) =>
        given.get(device.deviceId) !== (pni ? device.pniRegistrationId : device.registrationId),
    )
    .map((device) => device.deviceId)
    .sort((a, b) => a - b);
  return staleDevices.length > 0 ? { __typename: 'StaleDevices', staleDevices } : undefined;
}
