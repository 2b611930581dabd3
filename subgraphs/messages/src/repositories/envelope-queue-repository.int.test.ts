import { randomUUID } from 'node:crypto';
import { startPlatform, type Platform } from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvelopeQueueRepository, type QueuedEnvelopeRow } from './envelope-queue-repository.ts';

describe('EnvelopeQueueRepository.deleteForDevices', () => {
  let platform: Platform;
  let queue: EnvelopeQueueRepository;

  beforeAll(async () => {
    platform = await startPlatform();
    queue = new EnvelopeQueueRepository(platform.runtime.prisma);
  });
  afterAll(async () => {
    await platform?.stop();
  });

  const row = (aci: string, deviceId: number, marker: number): QueuedEnvelopeRow => ({
    guid: randomUUID(),
    destinationAci: aci,
    destinationDeviceId: deviceId,
    serverTimestamp: Date.now(),
    envelope: new Uint8Array([marker]),
    expiresAt: new Date(Date.now() + 60_000),
  });

  it("deletes several devices' acknowledged envelopes in one statement, each answered with its own", async () => {
    const alice = randomUUID();
    const bob = randomUUID();
    const [a1, a2, a3, aliceTwo, b1] = [
      row(alice, 1, 1),
      row(alice, 1, 2),
      row(alice, 1, 3),
      row(alice, 2, 4),
      row(bob, 1, 5),
    ];
    await queue.insertMany([a1!, a2!, a3!, aliceTwo!, b1!]);

    const deleted = await queue.deleteForDevices([
      { aci: alice, deviceId: 1, guids: [a1!.guid, a2!.guid, aliceTwo!.guid, b1!.guid] },
      { aci: alice, deviceId: 2, guids: [aliceTwo!.guid] },
      { aci: alice, deviceId: 1, guids: [a1!.guid] },
      { aci: bob, deviceId: 1, guids: [] },
      { aci: bob, deviceId: 1, guids: [randomUUID()] },
    ]);

    const markers = deleted.map((envelopes) => envelopes.map((envelope) => envelope[0]).sort());
    expect(markers).toEqual([[1, 2], [4], [], [], []]);
    const left = await platform.runtime.prisma.queuedEnvelope.findMany({
      where: { destinationAci: { in: [alice, bob] } },
      select: { guid: true },
    });
    expect(left.map((r) => r.guid).sort()).toEqual([a3!.guid, b1!.guid].sort());
  });

  it('answers empty lists without a statement when nothing is named', async () => {
    expect(await queue.deleteForDevices([{ aci: randomUUID(), deviceId: 1, guids: [] }])).toEqual([
      [],
    ]);
    expect(await queue.deleteForDevices([])).toEqual([]);
  });
});
