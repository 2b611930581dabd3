import { BASE64_PATTERN } from '@courier/config';
import { BadUserInputError, NotFoundError } from '@courier/errors';
import type { Logger } from '@courier/logging';
import { internalHandler } from '@courier/server';
import type { Router } from 'express';
import { z } from 'zod';
import type { DeviceKeysService } from '../services/device-keys-service.ts';
import type { IdentityKeyService } from '../services/identity-key-service.ts';

const base64Bytes = z
  .string()
  .regex(BASE64_PATTERN)
  .transform((value) => new Uint8Array(Buffer.from(value, 'base64')));
const signedKey = z.object({
  keyId: z.number().int(),
  publicKey: base64Bytes,
  signature: base64Bytes,
});
const identityKeys = z.object({
  identityKey: base64Bytes,
  signedPreKey: signedKey,
  pqLastResortPreKey: signedKey,
});

/** Body of `POST /internal/device-keys` (bytes as base64). */
export const initialDeviceKeysBody = z.object({
  aci: z.uuid(),
  deviceId: z.number().int().min(1).max(127),
  replaceAccount: z.boolean(),
  identities: z.object({ ACI: identityKeys, PNI: identityKeys }),
});
export type InitialDeviceKeysBody = z.input<typeof initialDeviceKeysBody>;

const linkedIdentityKeys = z.object({ signedPreKey: signedKey, pqLastResortPreKey: signedKey });

/** Body of `POST /internal/linked-device-keys` (bytes as base64). */
export const linkedDeviceKeysBody = z.object({
  aci: z.uuid(),
  deviceId: z.number().int().min(2).max(127),
  identities: z.object({ ACI: linkedIdentityKeys, PNI: linkedIdentityKeys }),
});
export type LinkedDeviceKeysBody = z.input<typeof linkedDeviceKeysBody>;

const deviceParams = z.object({ aci: z.uuid(), deviceId: z.coerce.number().int().min(1).max(127) });

/**
 * The keys subgraph's internal API, called by accounts during registration and device removal:
 * `POST /internal/device-keys` stores a device's initial keys, `POST
 * /internal/linked-device-keys` a linked device's signed prekeys (checked against the account's
 * stored identity keys), `DELETE
 * /internal/device-keys/:aci/:deviceId` removes them. Messages calls `GET
 * /internal/identity-keys/:aci` (the account's ACI identity key, base64, for sender certificates).
 */
export function keysInternalRoutes(
  service: DeviceKeysService,
  logger: Logger,
  identityKeys?: IdentityKeyService,
) {
  return (router: Router) => {
    if (identityKeys) {
      router.get(
        '/identity-keys/:aci',
        internalHandler(logger, async (req, res) => {
          const parsed = z.uuid().safeParse(req.params['aci']);
          if (!parsed.success) throw new BadUserInputError('Malformed account id');
          const key = await identityKeys.identityKeyOf(parsed.data.toLowerCase(), 'ACI');
          if (!key) throw new NotFoundError('No identity key');
          res.json({ identityKey: Buffer.from(key).toString('base64') });
        }),
      );
    }
    router.post(
      '/device-keys',
      internalHandler(logger, async (req, res) => {
        const parsed = initialDeviceKeysBody.safeParse(req.body);
        if (!parsed.success) throw new BadUserInputError('Malformed device keys');
        await service.storeInitialKeys(parsed.data);
        res.status(204).end();
      }),
    );
    router.post(
      '/linked-device-keys',
      internalHandler(logger, async (req, res) => {
        const parsed = linkedDeviceKeysBody.safeParse(req.body);
        if (!parsed.success) throw new BadUserInputError('Malformed linked device keys');
        await service.storeLinkedDeviceKeys(parsed.data);
        res.status(204).end();
      }),
    );
    router.delete(
      '/account-keys/:aci',
      internalHandler(logger, async (req, res) => {
        const parsed = z.uuid().safeParse(req.params['aci']);
        if (!parsed.success) throw new BadUserInputError('Malformed account id');
        await service.deleteAccountKeys(parsed.data);
        res.status(204).end();
      }),
    );
    router.delete(
      '/device-keys/:aci/:deviceId',
      internalHandler(logger, async (req, res) => {
        const parsed = deviceParams.safeParse(req.params);
        if (!parsed.success) throw new BadUserInputError('Malformed device address');
        await service.deleteDeviceKeys(parsed.data.aci, parsed.data.deviceId);
        res.status(204).end();
      }),
    );
  };
}
