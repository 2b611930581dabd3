import { BadUserInputError } from '@courier/errors';
import type { Logger } from '@courier/logging';
import { internalHandler } from '@courier/server';
import type { Router } from 'express';
import type { AccountRepository } from '../repositories/account-repository.ts';
import type { BlockService } from '../services/block-service.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Accounts' internal API for other subgraphs: `GET /internal/devices/:aci/:deviceId/credential`
 * answers a device's current credential id (null when there is no such device), which every
 * subgraph needs to refuse revoked tokens when its cached copies do not know;
 * `GET /internal/blocks/:blocker/:other` answers whether one account blocks another.
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
        if (!UUID.test(blocker) || !UUID.test(other)) {
          throw new BadUserInputError('Malformed account id');
        }
        res.json({ blocked: await blocks.isBlocked(blocker, other) });
      }),
    );
    router.get(
      '/devices/:aci/:deviceId/credential',
      internalHandler(logger, async (req, res) => {
        const aci = String(req.params['aci']);
        const deviceId = Number(req.params['deviceId']);
        if (!UUID.test(aci) || !Number.isInteger(deviceId) || deviceId < 1 || deviceId > 127) {
          throw new BadUserInputError('Malformed device address');
        }
        res.json({ credentialId: await accounts.credentialIdOf(aci, deviceId) });
      }),
    );
  };
}
