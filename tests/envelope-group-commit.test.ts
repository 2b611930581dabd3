import { randomUUID } from 'node:crypto';
import { signal } from '@courier/proto';
import { startPlatform, type Platform } from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The messages outbox's group commit against real PostgreSQL: sends that arrive together share
 * inserts, each resolves only once its rows are committed, and one bad row fails its whole batch
 * (one statement) without storing anything of the others in it.
 */
describe('envelope outbox group commit (real PostgreSQL)', () => {
  let platform: Platform;

  beforeAll(async () => {
    platform = await startPlatform();
  });
  afterAll(async () => {
    await platform?.stop();
  });

  const envelope = (destinationAci: string, clientTimestamp: number) => [
    {
      destinationAci,
      destinationDeviceId: 1,
      fields: {
        type: signal.Envelope.Type.CIPHERTEXT,
        clientTimestamp,
        content: new Uint8Array([1, 2, 3]),
      },
    },
  ];
  const stored = (aci: string) =>
    platform.runtime.prisma.queuedEnvelope.count({ where: { destinationAci: aci } });

  it('commits every one of many concurrent sends before it resolves', async () => {
    const outbox = platform.messages[0]!.outbox;
    // One destination per send, so each send can see its own row once it resolves.
    const acis = Array.from({ length: 300 }, () => randomUUID());
    const counts = await Promise.all(
      acis.map(async (aci, i) => {
        await outbox.enqueue(envelope(aci, i), false);
        return stored(aci);
      }),
    );
    expect(counts).toEqual(Array(300).fill(1));
    const rows = await platform.runtime.prisma.queuedEnvelope.findMany({
      where: { destinationAci: { in: acis } },
      select: { envelope: true },
    });
    expect(rows).toHaveLength(300);
    const timestamps = rows.map((row) =>
      Number(signal.Envelope.decode(new Uint8Array(row.envelope)).clientTimestamp),
    );
    expect(new Set(timestamps).size).toBe(300);
  });

  it('rejects every send of a batch whose insert fails and stores none of them', async () => {
    const outbox = platform.messages[0]!.outbox;
    const good = randomUUID();
    const batch = [
      ...Array.from({ length: 10 }, (_, i) => outbox.enqueue(envelope(good, i), false)),
      outbox.enqueue(envelope('not-a-uuid', 99), false),
    ];
    const outcomes = await Promise.allSettled(batch);
    expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
    expect(await stored(good)).toBe(0);
    await outbox.enqueue(envelope(good, 100), false);
    expect(await stored(good)).toBe(1);
  });
});
