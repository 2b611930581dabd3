import { createLogger } from '@courier/logging';
import { signal } from '@courier/proto';
import { describe, expect, it, vi } from 'vitest';
import type { QueuedEnvelopeRow } from '../repositories/envelope-queue-repository.ts';
import { EnvelopeOutbox, type OutgoingEnvelope } from './envelope-outbox.ts';

const ACI = '6a1b2c3d-1111-4222-8333-944455556666';

/** An insert the test finishes by hand. */
interface PendingInsert {
  readonly rows: readonly QueuedEnvelopeRow[];
  resolve(): void;
  reject(error: Error): void;
}

function outbox(options: { maxConcurrentInserts?: number; maxBatchRows?: number } = {}) {
  const inserts: PendingInsert[] = [];
  const queue = {
    insertMany: vi.fn(
      (rows: readonly QueuedEnvelopeRow[]) =>
        new Promise<void>((resolve, reject) => inserts.push({ rows: [...rows], resolve, reject })),
    ),
  };
  const published: number[] = [];
  const channels = {
    publish: vi.fn(async (_aci: string, deviceId: number) => void published.push(deviceId)),
  };
  const box = new EnvelopeOutbox({
    queue,
    channels,
    logger: createLogger({ name: 'test', level: 'silent' }),
    ...options,
  });
  return { box, queue, inserts, published };
}

/** `count` envelopes for devices `first`, `first + 1`, … */
function envelopes(first: number, count = 1): OutgoingEnvelope[] {
  return Array.from({ length: count }, (_, i) => ({
    destinationAci: ACI,
    destinationDeviceId: first + i,
    fields: { type: signal.Envelope.Type.CIPHERTEXT, content: new Uint8Array([first + i]) },
  }));
}

/** Lets scheduled work (setImmediate and promise callbacks) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Whether `promise` has settled, without waiting for it. */
async function state(promise: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let result: 'pending' | 'resolved' | 'rejected' = 'pending';
  promise.then(
    () => (result = 'resolved'),
    () => (result = 'rejected'),
  );
  await settle();
  return result;
}

describe('EnvelopeOutbox group commit', () => {
  it('stores an idle send at once, in one insert of its own', async () => {
    const { box, inserts, published } = outbox();
    const sent = box.enqueue(envelopes(1, 3), false);
    await settle();
    expect(inserts).toHaveLength(1);
    expect(inserts[0]!.rows.map((row) => row.destinationDeviceId)).toEqual([1, 2, 3]);
    expect(await state(sent)).toBe('pending');
    expect(published).toEqual([]);
    inserts[0]!.resolve();
    await sent;
    expect(published).toEqual([1, 2, 3]);
  });

  it('gathers sends that arrive while inserts run into one insert; each waits for its own commit', async () => {
    const { box, queue, inserts, published } = outbox({ maxConcurrentInserts: 1 });
    const first = box.enqueue(envelopes(1), false);
    await settle();
    const waiting = [
      box.enqueue(envelopes(2), false),
      box.enqueue(envelopes(3, 2), false),
      box.enqueue(envelopes(5), false),
    ];
    await settle();
    expect(queue.insertMany).toHaveBeenCalledTimes(1);
    inserts[0]!.resolve();
    await first;
    await settle();
    expect(queue.insertMany).toHaveBeenCalledTimes(2);
    expect(inserts[1]!.rows.map((row) => row.destinationDeviceId)).toEqual([2, 3, 4, 5]);
    expect(await Promise.all(waiting.map(state))).toEqual(['pending', 'pending', 'pending']);
    expect(published).toEqual([1]);
    inserts[1]!.resolve();
    await Promise.all(waiting);
    expect(published.sort()).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(inserts.flatMap((insert) => insert.rows.map((row) => row.guid))).size).toBe(5);
  });

  it('sends of the same turn share the first insert', async () => {
    const { box, inserts } = outbox();
    const sends = [box.enqueue(envelopes(1), false), box.enqueue(envelopes(2), false)];
    await settle();
    expect(inserts).toHaveLength(1);
    expect(inserts[0]!.rows).toHaveLength(2);
    inserts[0]!.resolve();
    await Promise.all(sends);
  });

  it('a failed insert rejects every send of its batch, publishes none of them, and spares the next', async () => {
    const { box, inserts, published } = outbox({ maxConcurrentInserts: 1 });
    const first = box.enqueue(envelopes(1), false);
    await settle();
    const batch = [box.enqueue(envelopes(2), false), box.enqueue(envelopes(3), false)];
    await settle();
    inserts[0]!.resolve();
    await first;
    await settle();
    const later = box.enqueue(envelopes(4), false);
    inserts[1]!.reject(new Error('database down'));
    const outcomes = await Promise.allSettled(batch);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toEqual(new Error('database down'));
    await settle();
    expect(inserts).toHaveLength(3);
    expect(inserts[2]!.rows.map((row) => row.destinationDeviceId)).toEqual([4]);
    inserts[2]!.resolve();
    await later;
    expect(published).toEqual([1, 4]);
  });

  it('caps a gathered batch at maxBatchRows without splitting a send', async () => {
    const { box, inserts } = outbox({ maxConcurrentInserts: 1, maxBatchRows: 3 });
    const first = box.enqueue(envelopes(1), false);
    await settle();
    const waiting = [
      box.enqueue(envelopes(10, 2), false),
      box.enqueue(envelopes(20, 2), false),
      box.enqueue(envelopes(30, 5), false),
    ];
    inserts[0]!.resolve();
    await first;
    for (let i = 1; i <= 3; i++) {
      await settle();
      expect(inserts).toHaveLength(i + 1);
      inserts[i]!.resolve();
    }
    await Promise.all(waiting);
    expect(inserts.map((insert) => insert.rows.length)).toEqual([1, 2, 2, 5]);
  });

  it('marks each stored envelope with whether it wants a delivery receipt', async () => {
    const { box, inserts } = outbox();
    const SENDER = '0f0e0d0c-1111-4222-8333-944455556666';
    const { CIPHERTEXT, UNIDENTIFIED_SENDER, SERVER_DELIVERY_RECEIPT } = signal.Envelope.Type;
    const sent = box.enqueue(
      [
        { type: CIPHERTEXT, sourceServiceId: SENDER },
        { type: UNIDENTIFIED_SENDER },
        { type: SERVER_DELIVERY_RECEIPT, sourceServiceId: SENDER },
        { type: CIPHERTEXT, sourceServiceId: ACI },
      ].map((fields, i) => ({ destinationAci: ACI, destinationDeviceId: i + 1, fields })),
      false,
    );
    await settle();
    expect(inserts[0]!.rows.map((row) => row.wantsReceipt)).toEqual([true, false, false, false]);
    inserts[0]!.resolve();
    await sent;
  });

  it('never stores online-only envelopes', async () => {
    const { box, queue, published } = outbox();
    await box.enqueue(envelopes(1, 2), true);
    expect(queue.insertMany).not.toHaveBeenCalled();
    expect(published).toEqual([1, 2]);
  });
});
