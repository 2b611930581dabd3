import { randomUUID } from 'node:crypto';
import { startPlatform, type Platform } from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvelopeQueueRepository, type QueuedEnvelopeRow } from './envelope-queue-repository.ts';

/** The repository against real PostgreSQL (the platform's database). */
describe('EnvelopeQueueRepository', () => {
  let platform: Platform;
  let queue: EnvelopeQueueRepository;

  beforeAll(async () => {
    platform = await startPlatform();
    queue = new EnvelopeQueueRepository(platform.runtime.prisma);
  });
  afterAll(async () => {
    await platform?.stop();
  });

  describe('deleteForDevices', () => {
    const row = (
      aci: string,
      deviceId: number,
      marker: number,
      wantsReceipt = true,
    ): QueuedEnvelopeRow => ({
      guid: randomUUID(),
      destinationAci: aci,
      destinationDeviceId: deviceId,
      serverTimestamp: Date.now(),
      envelope: new Uint8Array([marker]),
      expiresAt: new Date(Date.now() + 60_000),
      wantsReceipt,
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

      expect(deleted.map((answer) => answer.deleted)).toEqual([2, 1, 0, 0, 0]);
      const markers = deleted.map((answer) =>
        answer.forReceipts.map((envelope) => envelope[0]).sort(),
      );
      expect(markers).toEqual([[1, 2], [4], [], [], []]);
      const left = await platform.runtime.prisma.queuedEnvelope.findMany({
        where: { destinationAci: { in: [alice, bob] } },
        select: { guid: true },
      });
      expect(left.map((r) => r.guid).sort()).toEqual([a3!.guid, b1!.guid].sort());
    });

    it('answers empty lists without a statement when nothing is named', async () => {
      expect(await queue.deleteForDevices([{ aci: randomUUID(), deviceId: 1, guids: [] }])).toEqual(
        [{ deleted: 0, forReceipts: [] }],
      );
      expect(await queue.deleteForDevices([])).toEqual([]);
    });

    it('stores wants_receipt and returns only those envelopes, while counting every deleted row', async () => {
      const alice = randomUUID();
      const rows = [
        row(alice, 1, 1, true),
        row(alice, 1, 2, false),
        row(alice, 1, 3, true),
        row(alice, 1, 4, false),
      ];
      await queue.insertMany(rows);
      const stored = await platform.runtime.prisma.queuedEnvelope.findMany({
        where: { destinationAci: alice },
        select: { guid: true, wantsReceipt: true },
      });
      expect(new Map(stored.map((r) => [r.guid, r.wantsReceipt]))).toEqual(
        new Map(rows.map((r) => [r.guid, r.wantsReceipt])),
      );

      const [answer] = await queue.deleteForDevices([
        { aci: alice, deviceId: 1, guids: rows.map((r) => r.guid) },
      ]);
      expect(answer!.deleted).toBe(4);
      expect(answer!.forReceipts.map((envelope) => [...envelope]).sort()).toEqual([[1], [3]]);
    });
  });

  describe('insertMany', () => {
    it('stores envelopes of any length and bytes intact, each cut from the shared parameter', async () => {
      const aci = randomUUID();
      const every = Uint8Array.from({ length: 256 }, (_, i) => i);
      const envelopes = [
        new Uint8Array([0x00, 0x5c, 0x22, 0xff, 0x27, 0x00]),
        new Uint8Array(0),
        every,
        new Uint8Array([0x5c, 0x5c, 0x78]),
        new Uint8Array(70_000).fill(0xff),
        new Uint8Array([0x00]),
        every.subarray(250, 254),
      ];
      const now = Date.now();
      const rows: QueuedEnvelopeRow[] = envelopes.map((envelope, i) => ({
        guid: randomUUID(),
        destinationAci: aci,
        destinationDeviceId: 1,
        serverTimestamp: now + i,
        envelope,
        expiresAt: new Date(now + 60_000),
        wantsReceipt: i % 2 === 0,
      }));
      await queue.insertMany(rows);

      const page = await queue.page(aci, 1, undefined, 100, new Date(now));
      expect(page.map((stored) => stored.guid)).toEqual(rows.map((r) => r.guid));
      expect(page.map((stored) => stored.serverTimestamp)).toEqual(
        rows.map((r) => r.serverTimestamp),
      );
      page.forEach((stored, i) => {
        expect(Buffer.from(stored.envelope).equals(Buffer.from(envelopes[i]!))).toBe(true);
      });
    });
  });
});
