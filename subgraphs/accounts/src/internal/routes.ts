import { BadUserInputError, NotFoundError } from '@courier/errors';
import type { Logger } from '@courier/logging';
import { internalHandler, isUuid, parseServiceId, type ServiceId } from '@courier/server';
import type { Router } from 'express';
import type { AccountRepository, ServiceTargetRecord } from '../repositories/account-repository.ts';
import type { BlockService } from '../services/block-service.ts';

/** Most service ids one `POST /internal/accounts/lookup` may name (Signal's multi-recipient limit). */
export const MAX_LOOKUP_SERVICE_IDS = 5000;

function targetBody(target: ServiceTargetRecord) {
  return {
    ...target,
    unidentifiedAccessKey: target.unidentifiedAccessKey
      ? Buffer.from(target.unidentifiedAccessKey).toString('base64')
      : null,
  };
}

/**
 * Accounts' internal API for other subgraphs: `GET /internal/devices/:aci/:deviceId/credential`
 * answers a device's current credential id (null when there is no such device), which every
 * subgraph needs to refuse revoked tokens when its cached copies do not know;
 * `GET /internal/blocks/:blocker/:other` answers whether one account blocks another;
 * `GET /internal/blocks/:blocker` answers the ACIs one account blocks (`blocked`, at most
 * `MAX_BLOCKED_ACCOUNTS`; `complete` false when the list was cut), which keys and messages cache
 * under the blocker's version token;
 * `GET /internal/accounts/:serviceId` (`<aci>` or `PNI:<pni>`) answers the account's ids, its
 * sealed-sender access settings (access key as base64) and its devices' registration ids, or
 * `NOT_FOUND` (keys serves prekey bundles with it); `POST /internal/accounts/lookup`
 * `{ serviceIds }` answers the same for many at once (`accounts`: one entry or null per id, in
 * order), for multi-recipient sends.
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
      '/blocks/:blocker',
      internalHandler(logger, async (req, res) => {
        const blocker = String(req.params['blocker']).toLowerCase();
        if (!isUuid(blocker)) throw new BadUserInputError('Malformed account id');
        res.json(await blocks.blockListOf(blocker));
      }),
    );
    router.get(
      '/accounts/:serviceId',
      internalHandler(logger, async (req, res) => {
        const { kind, uuid } = parseServiceId(String(req.params['serviceId']), 'serviceId');
        const target = await accounts.findServiceTarget(
          kind === 'PNI' ? { pni: uuid } : { aci: uuid },
        );
        if (!target) throw new NotFoundError('No such account');
        res.json(targetBody(target));
      }),
    );
    router.post(
      '/accounts/lookup',
      internalHandler(logger, async (req, res) => {
        const body = req.body as { serviceIds?: unknown };
        const ids = body.serviceIds;
        if (
          !Array.isArray(ids) ||
          ids.length > MAX_LOOKUP_SERVICE_IDS ||
          !ids.every((id) => typeof id === 'string')
        ) {
          throw new BadUserInputError(
            `serviceIds must be at most ${MAX_LOOKUP_SERVICE_IDS} strings`,
          );
        }
        const parsed = (ids as string[]).map((text) => parseServiceId(text, 'serviceIds'));
        const uuidsOf = (kind: ServiceId['kind']) =>
          parsed.filter((id) => id.kind === kind).map((id) => id.uuid);
        const found = await accounts.findServiceTargets(uuidsOf('ACI'), uuidsOf('PNI'));
        const byAci = new Map(found.map((target) => [target.aci, target]));
        const byPni = new Map(found.map((target) => [target.pni, target]));
        res.json({
          accounts: parsed.map(({ kind, uuid }) => {
            const target = (kind === 'PNI' ? byPni : byAci).get(uuid);
            return target ? targetBody(target) : null;
          }),
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
