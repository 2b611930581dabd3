import Long from 'long';
import protobuf from 'protobufjs/minimal.js';
import { describe, expect, it } from 'vitest';
import { signal, toSafeNumber } from './index.ts';

const ACI = '0f1b6c4e-7a52-4c1d-9d3e-5b8f2a6c9e01';
const PNI = 'PNI:7c2d9e4a-1b3f-4e6a-8c5d-2f9b0a1e3d47';
const GUID = 'a3c1e5f7-2b4d-4f6a-8e0c-1d3b5f7a9c2e';
const CLIENT_TS = 1_767_225_600_123;
const SERVER_TS = 1_767_225_600_456;

function bytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seed + i * 31) & 0xff);
}

/** Decoded bytes fields are Buffers; compare them as plain Uint8Arrays. */
function plain(value: Uint8Array | null | undefined): Uint8Array | undefined {
  return value == null ? undefined : Uint8Array.from(value);
}

/** The field numbers present on the wire, in order. */
function wireFields(encoded: Uint8Array): number[] {
  const reader = protobuf.Reader.create(encoded);
  const fields: number[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    fields.push(tag >>> 3);
    reader.skipType(tag & 7);
  }
  return fields;
}

describe('signal.Envelope', () => {
  const fixture = {
    type: signal.Envelope.Type.UNIDENTIFIED_SENDER,
    sourceServiceId: ACI,
    sourceDevice: 3,
    destinationServiceId: PNI,
    clientTimestamp: CLIENT_TS,
    content: bytes(300, 7),
    serverGuid: GUID,
    serverTimestamp: SERVER_TS,
    ephemeral: true,
    urgent: false,
    updatedPni: PNI.slice(4),
    story: true,
    reportSpamToken: bytes(32, 1),
    sharedMrmKey: bytes(16, 2),
    sourceServiceIdBinary: bytes(16, 3),
    destinationServiceIdBinary: bytes(17, 4),
    serverGuidBinary: bytes(16, 5),
    updatedPniBinary: bytes(16, 6),
  } satisfies signal.Envelope.$Properties;

  it('round-trips every field', () => {
    const decoded = signal.Envelope.decode(signal.Envelope.encode(fixture).finish());
    expect({
      ...signal.Envelope.toObject(decoded, { longs: Number }),
      content: plain(decoded.content),
      reportSpamToken: plain(decoded.reportSpamToken),
      sharedMrmKey: plain(decoded.sharedMrmKey),
      sourceServiceIdBinary: plain(decoded.sourceServiceIdBinary),
      destinationServiceIdBinary: plain(decoded.destinationServiceIdBinary),
      serverGuidBinary: plain(decoded.serverGuidBinary),
      updatedPniBinary: plain(decoded.updatedPniBinary),
    }).toEqual(fixture);
  });

  it("uses Signal's field numbers", () => {
    expect(wireFields(signal.Envelope.encode(fixture).finish())).toEqual([
      1, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
    ]);
    expect(Object.entries(signal.Envelope.Type)).toEqual(
      expect.arrayContaining([
        ['UNKNOWN', 0],
        ['CIPHERTEXT', 1],
        ['KEY_EXCHANGE', 2],
        ['PREKEY_BUNDLE', 3],
        ['SERVER_DELIVERY_RECEIPT', 5],
        ['UNIDENTIFIED_SENDER', 6],
        ['SENDERKEY_MESSAGE', 7],
        ['PLAINTEXT_CONTENT', 8],
      ]),
    );
  });

  it('matches hand-encoded bytes', () => {
    const encoded = signal.Envelope.encode({
      type: signal.Envelope.Type.PREKEY_BUNDLE,
      sourceDevice: 2,
      content: Uint8Array.of(0xca, 0xfe),
      serverTimestamp: 300,
      story: true,
    }).finish();
    expect(Buffer.from(encoded).toString('hex')).toBe(
      ['0803', '3802', '4202cafe', '50ac02', '800101'].join(''),
    );
  });

  it('decodes 64-bit timestamps as unsigned Longs that convert exactly', () => {
    const decoded = signal.Envelope.decode(
      signal.Envelope.encode({ serverTimestamp: SERVER_TS, clientTimestamp: CLIENT_TS }).finish(),
    );
    expect(Long.isLong(decoded.serverTimestamp)).toBe(true);
    expect(toSafeNumber(decoded.serverTimestamp)).toBe(SERVER_TS);
    expect(toSafeNumber(decoded.clientTimestamp)).toBe(CLIENT_TS);
  });

  it('accepts Long timestamps when encoding', () => {
    const decoded = signal.Envelope.decode(
      signal.Envelope.encode({ serverTimestamp: Long.fromNumber(SERVER_TS, true) }).finish(),
    );
    expect(toSafeNumber(decoded.serverTimestamp)).toBe(SERVER_TS);
  });

  it('defaults urgent to true and omits absent fields from the wire', () => {
    const encoded = signal.Envelope.encode({ type: signal.Envelope.Type.CIPHERTEXT }).finish();
    expect(wireFields(encoded)).toEqual([1]);
    const decoded = signal.Envelope.decode(encoded);
    expect(decoded.urgent).toBe(true);
    expect(Object.hasOwn(decoded, 'urgent')).toBe(false);
    expect(toSafeNumber(decoded.serverTimestamp)).toBe(0);
  });

  it('has real TypeScript types', () => {
    const decoded = signal.Envelope.decode(signal.Envelope.encode({ sourceDevice: 1 }).finish());
    const device: number = decoded.sourceDevice;
    const timestamp: number | Long = decoded.serverTimestamp;
    // @ts-expect-error sourceDevice is a number, not a string
    const wrong: string = decoded.sourceDevice;
    expect([device, toSafeNumber(timestamp), wrong]).toEqual([1, 0, 1]);
  });
});

describe('toSafeNumber', () => {
  it('passes numbers through and maps absent values to 0', () => {
    expect(toSafeNumber(42)).toBe(42);
    expect(toSafeNumber(null)).toBe(0);
    expect(toSafeNumber(undefined)).toBe(0);
  });

  it('rejects values a number cannot hold exactly', () => {
    expect(() => toSafeNumber(Long.fromString('9007199254740993', true))).toThrow(RangeError);
    expect(() => toSafeNumber(Long.MAX_UNSIGNED_VALUE)).toThrow(RangeError);
    expect(() => toSafeNumber(1.5)).toThrow(RangeError);
  });
});

describe('provisioning messages', () => {
  it('round-trips ProvisioningAddress and stays wire-compatible with ProvisioningUuid', () => {
    const encoded = signal.ProvisioningAddress.encode({ address: 'q83s-_0AbC' }).finish();
    expect(wireFields(encoded)).toEqual([1]);
    expect(signal.ProvisioningAddress.decode(encoded).address).toBe('q83s-_0AbC');
    expect(signal.ProvisioningUuid.decode(encoded).uuid).toBe('q83s-_0AbC');
    const legacy = signal.ProvisioningUuid.encode({ uuid: GUID }).finish();
    expect(signal.ProvisioningUuid.decode(legacy).uuid).toBe(GUID);
  });

  it('round-trips ProvisionEnvelope', () => {
    const fixture = { publicKey: bytes(33, 9), body: bytes(1024, 10) };
    const encoded = signal.ProvisionEnvelope.encode(fixture).finish();
    expect(wireFields(encoded)).toEqual([1, 2]);
    const decoded = signal.ProvisionEnvelope.decode(encoded);
    expect({ publicKey: plain(decoded.publicKey), body: plain(decoded.body) }).toEqual(fixture);
  });

  it('round-trips ProvisionMessage with Signal field numbers', () => {
    const fixture = {
      aciIdentityKeyPublic: bytes(33, 11),
      aciIdentityKeyPrivate: bytes(32, 12),
      number: '+15555550123',
      provisioningCode: 'XyZ-123',
      userAgent: 'OWD',
      profileKey: bytes(32, 13),
      readReceipts: true,
      aci: ACI,
      provisioningVersion: signal.ProvisioningVersion.CURRENT,
      pni: PNI.slice(4),
      pniIdentityKeyPublic: bytes(33, 14),
      pniIdentityKeyPrivate: bytes(32, 15),
      masterKey: bytes(32, 16),
      ephemeralBackupKey: bytes(32, 17),
      accountEntropyPool: 'a'.repeat(64),
      mediaRootBackupKey: bytes(32, 18),
      aciBinary: bytes(16, 19),
      pniBinary: bytes(16, 20),
    } satisfies signal.ProvisionMessage.$Properties;
    const encoded = signal.ProvisionMessage.encode(fixture).finish();
    expect(wireFields(encoded).sort((a, b) => a - b)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
    ]);
    const decoded = signal.ProvisionMessage.decode(encoded);
    const object = signal.ProvisionMessage.toObject(decoded);
    for (const [key, value] of Object.entries(object)) {
      if (value instanceof Uint8Array) object[key] = plain(value);
    }
    expect(object).toEqual(fixture);
    expect(signal.ProvisioningVersion.TABLET_SUPPORT).toBe(1);
  });

  it('reports invalid input through verify', () => {
    expect(signal.ProvisionMessage.verify({ provisioningVersion: 'x' })).toMatch(/integer/);
    expect(signal.ProvisionMessage.verify({ number: '+15555550123' })).toBeNull();
  });
});
