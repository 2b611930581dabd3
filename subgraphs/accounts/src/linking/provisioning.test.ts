import { InProcessBus } from '@courier/bus';
import { createRateLimits } from '@courier/limits';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MAX_PROVISIONING_MESSAGE_BYTES,
  ProvisioningService,
  assertProvisioningAddress,
  provisioningChannel,
  type ProvisioningEventModel,
} from './provisioning.ts';

describe('provisioning relay', () => {
  const bus = new InProcessBus();
  const limits = createRateLimits();
  afterEach(() => undefined);

  const addressOf = (event: IteratorResult<ProvisioningEventModel, undefined>): string => {
    if (event.done || event.value.__typename !== 'ProvisioningAddress')
      throw new Error('no address');
    return event.value.address;
  };

  it('yields a fresh address, then the first message sent to it, then completes', async () => {
    const service = new ProvisioningService(bus, limits);
    const stream = await service.open('client');
    const address = addressOf(await stream.next());
    expect(address).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(bus.handlerCount(provisioningChannel(address))).toBe(1);

    const pending = stream.next();
    await service.send(address, new Uint8Array([1, 2, 3]));
    await service.send(address, new Uint8Array([4]));
    expect(await pending).toEqual({
      done: false,
      value: { __typename: 'ProvisioningMessage', body: new Uint8Array([1, 2, 3]) },
    });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    expect(bus.handlerCount(provisioningChannel(address))).toBe(0);

    const other = addressOf(await (await service.open('client')).next());
    expect(other).not.toBe(address);
  });

  it('unsubscribes at once when the client leaves, even while waiting', async () => {
    const stream = await new ProvisioningService(bus, limits).open('client');
    const address = addressOf(await stream.next());
    const pending = stream.next();
    await stream.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(bus.handlerCount(provisioningChannel(address))).toBe(0);
  });

  it('completes without a message when the wait times out', async () => {
    const stream = await new ProvisioningService(bus, limits, { timeoutMs: 20 }).open('client');
    const address = addressOf(await stream.next());
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    expect(bus.handlerCount(provisioningChannel(address))).toBe(0);
  });

  it('refuses malformed addresses, empty and oversize bodies', async () => {
    const service = new ProvisioningService(bus, limits);
    const address = 'AAAAAAAAAAAAAAAAAAAAAA';
    await expect(
      service.send(address, new Uint8Array(MAX_PROVISIONING_MESSAGE_BYTES)),
    ).resolves.toBeUndefined();
    await expect(
      service.send(address, new Uint8Array(MAX_PROVISIONING_MESSAGE_BYTES + 1)),
    ).rejects.toMatchObject({ extensions: { code: 'PAYLOAD_TOO_LARGE' } });
    await expect(service.send(address, new Uint8Array())).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'body' },
    });
    for (const bad of [
      '',
      'short',
      `${address}A`,
      'AAAAAAAAAAAAAAAAAAAAAB',
      'AAAAAAAAAAAAAAAAAAAAA=',
    ]) {
      expect(() => assertProvisioningAddress(bad)).toThrow(/Malformed provisioning address/);
    }
  });

  it('limits sessions per client pseudonym', async () => {
    const service = new ProvisioningService(bus, createRateLimits());
    const streams = [];
    for (let i = 0; i < 10; i++) streams.push(await service.open('one-client'));
    await expect(service.open('one-client')).rejects.toMatchObject({
      extensions: { code: 'RATE_LIMITED' },
    });
    streams.push(await service.open('another-client'));
    for (const stream of streams) await stream.return?.();
  });
});
