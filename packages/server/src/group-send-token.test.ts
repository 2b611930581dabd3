import { Aci, Pni } from '@signalapp/libsignal-client/dist/Address.js';
import {
  ClientZkGroupCipher,
  GroupSecretParams,
  GroupSendDerivedKeyPair,
  GroupSendEndorsement,
  GroupSendEndorsementsResponse,
  ServerSecretParams,
} from '@signalapp/libsignal-client/dist/zkgroup/index.js';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkGroupSendToken, verifyGroupSendToken } from './group-send-token.ts';

const DAY_MS = 86_400_000;

describe('group send tokens', () => {
  const params = ServerSecretParams.generate();
  const group = GroupSecretParams.generate();
  const cipher = new ClientZkGroupCipher(group);
  const me = Aci.fromUuid(randomUUID());
  const bob = Aci.fromUuid(randomUUID());
  const carol = Pni.fromUuid(randomUUID());
  const members = [me, bob, carol];
  const now = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS + 3_600_000);
  const expiration = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS + DAY_MS);
  const response = GroupSendEndorsementsResponse.issue(
    members.map((member) => cipher.encryptServiceId(member)),
    GroupSendDerivedKeyPair.forExpiration(expiration, params),
  );
  const received = response.receiveWithServiceIds(
    members,
    me,
    group,
    params.getPublicParams(),
    now,
  );
  const othersToken = received.combinedEndorsement.toFullToken(group, expiration).serialize();
  const bobToken = received.endorsements[1]!.toFullToken(group, expiration).serialize();

  it('accepts a combined token for exactly the endorsed recipients, in any order', () => {
    const ids = [carol.getServiceIdString(), bob.getServiceIdString()];
    expect(checkGroupSendToken(params, othersToken, ids, now)).toEqual({ ok: true, expiration });
    expect(verifyGroupSendToken(params, bobToken, [bob.getServiceIdString()], now)).toEqual(
      expiration,
    );
  });

  it('refuses a token for another set of recipients with FORBIDDEN', () => {
    expect(checkGroupSendToken(params, othersToken, [bob.getServiceIdString()], now)).toEqual({
      ok: false,
      problem: 'invalid',
    });
    expect(() =>
      verifyGroupSendToken(params, bobToken, [carol.getServiceIdString()], now),
    ).toThrowError(expect.objectContaining({ extensions: { code: 'FORBIDDEN' } }));
  });

  it('refuses tokens of other params, expired and malformed tokens', () => {
    const other = ServerSecretParams.generate();
    const ids = [bob.getServiceIdString()];
    expect(checkGroupSendToken(other, bobToken, ids, now)).toMatchObject({ problem: 'invalid' });
    const later = new Date(expiration.getTime() + 1);
    expect(checkGroupSendToken(params, bobToken, ids, later)).toMatchObject({
      problem: 'expired',
    });
    expect(() => verifyGroupSendToken(params, bobToken, ids, later)).toThrowError(
      expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } }),
    );
    for (const bad of [new Uint8Array(0), new Uint8Array(3), new Uint8Array(4096)]) {
      expect(checkGroupSendToken(params, bad, ids, now)).toMatchObject({ problem: 'malformed' });
      expect(() => verifyGroupSendToken(params, bad, ids, now)).toThrowError(
        expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } }),
      );
    }
    expect(checkGroupSendToken(params, bobToken, ['not-a-service-id'], now)).toMatchObject({
      problem: 'malformed',
    });
  });

  it('a token stops working once the member is removed from the combined endorsement', () => {
    const withoutBob = received.combinedEndorsement
      .byRemoving(GroupSendEndorsement.combine([received.endorsements[1]!]))
      .toFullToken(group, expiration)
      .serialize();
    expect(checkGroupSendToken(params, withoutBob, [carol.getServiceIdString()], now).ok).toBe(
      true,
    );
  });
});
