import { BadUserInputError, NotFoundError } from '@courier/errors';
import type { Logger } from '@courier/logging';
import { internalHandler, isUuid } from '@courier/server';
import type { Router } from 'express';
import type { AccountRepository } from '../repositories/account-repository.ts';
import type { BlockService } from '../services/block-service.ts';

/**
 * Accounts' internal API for other subgraphs: `GET /internal/devices/:aci/:deviceId/credential`
 * answers a device's current credential id (null when there is no such device), which every
 * subgraph needs to refuse revoked tokens when its cached copies do not know;
 * `GET /internal/blocks/:blocker/:other` answers whether one account blocks another;
 * `GET /internal/accounts/:serviceId` (`<aci>` or `PNI:<pni>`) answers the account's ids, its
 * sealed-sender access settings (access key as base64) and its devices' registration ids, or
 * `NOT_FOUND` (keys serves prekey bundles with it).
 */
export function accountsInternalRoutes(
  { accounts, blocks }: { accounts: AccountRepository; blocks: BlockService },
  logger: Logger,
) {
  return (router: Router) => {
    router.get(
      '/blocks/:blocker/:other',
      internalHandler(logger, async (req, res) => {
        const blocker = String(req.params['blocker']);
        const other = String(req.params['other']);
        if (!isUuid(blocker) || !isUuid(other)) {
          throw new BadUserInputError('Malformed account id');
        }
        res.json({ blocked: await blocks.isBlocked(blocker, other) });
      }),
    );
    router.get(
      '/accounts/:serviceId',
      internalHandler(logger, async (req, res) => {
        const serviceId = String(req.params['serviceId']).toLowerCase();
        const pni = serviceId.startsWith('pni:') ? serviceId.slice(4) : undefined;
        const id = pni ?? serviceId;
        if (!isUuid(id)) throw new BadUserInputError('Malformed service id');
        const target = await accounts.findServiceTarget(pni ? { pni } : { aci: id });
        if (!target) throw new NotFoundError('No such account');
        res.json({
          ...target,
          unidentifiedAccessKey: target.unidentifiedAccessKey
            ? Buffer.from(target.unidentifiedAccessKey).toString('base64')
            : null,
        });
      }),
    );
    router.get(
      '/devices/:aci/:deviceId/credential',
      internalHandler(logger, async (req, res) => {
        const aci = String(req.params['aci']);
        const deviceId = Number(req.params['deviceId']);
        if (!isUuid(aci) || !Number.isInteger(deviceId) || deviceId < 1 || deviceId > 127) {
          throw new BadUserInputError('Malformed device address');
        }
        res.json({ credentialId: await accounts.credentialIdOf(aci, deviceId) });
      }),
    );
  };
}
