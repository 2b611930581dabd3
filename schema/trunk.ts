/**
 * The trunk: one WebSocket from a gateway to a graphql-ws subgraph that carries the graphql-ws
 * connections of many clients, each as a numbered channel. It is what the gateway's passthrough
 * lane uses instead of a socket per client, so that a burst of frames for many devices (a
 * multi-recipient send fans out to hundreds) crosses the hop in one write and one read.
 *
 * A trunk message is a binary WebSocket message holding one or more records, each
 * `channel (u32 BE) · kind (u8) · length (u32 BE) · payload`:
 * - `open` (gateway → subgraph): a new channel; the subgraph serves graphql-ws on it exactly as
 *   on a socket of its own (the gateway then sends `connection_init` with the client's
 *   credentials, which the subgraph checks per channel);
 * - `frame` (both ways): one graphql-ws text message, UTF-8;
 * - `close` (both ways): the channel ended: `code (u16 BE) · reason (UTF-8)`; the side that
 *   receives it ends the channel without answering.
 *
 * The upgrade is to {@link TRUNK_PATH} with the {@link TRUNK_PROTOCOL} subprotocol and the router
 * secret header; only gateways open trunks.
 */

/** Path of a subgraph's trunk endpoint. */
export const TRUNK_PATH = '/graphql-trunk';

/** WebSocket subprotocol of the trunk (this codec's version). */
export const TRUNK_PROTOCOL = 'courier-trunk.v1';

/** Kinds of trunk records. */
export const TrunkRecordKind = { open: 1, frame: 2, close: 3 } as const;
export type TrunkRecordKind = (typeof TrunkRecordKind)[keyof typeof TrunkRecordKind];

/** One decoded record; `payload` is a view into the received message. */
export interface TrunkRecord {
  readonly channel: number;
  readonly kind: TrunkRecordKind;
  readonly payload: Buffer;
}

const HEADER_BYTES = 9;

/**
 * Bytes after which a {@link TrunkWriter} sends at once rather than waiting for the end of the
 * event-loop turn (bounds one message's size and the memory of a burst).
 */
export const TRUNK_FLUSH_BYTES = 1024 * 1024;

/** Largest trunk message either side accepts: a full batch plus one largest frame. */
export function trunkMaxPayload(maxFrameBytes: number): number {
  return TRUNK_FLUSH_BYTES + maxFrameBytes + HEADER_BYTES;
}

/** Thrown by {@link decodeTrunkMessage} for a message that is not a sequence of records. */
export class TrunkProtocolError extends Error {}

/** The records of one trunk message, in order. Throws {@link TrunkProtocolError} if malformed. */
export function decodeTrunkMessage(data: Buffer): TrunkRecord[] {
  const records: TrunkRecord[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (data.length - offset < HEADER_BYTES) throw new TrunkProtocolError('truncated record');
    const channel = data.readUInt32BE(offset);
    const kind = data[offset + 4]!;
    const length = data.readUInt32BE(offset + 5);
    const start = offset + HEADER_BYTES;
    if (kind < TrunkRecordKind.open || kind > TrunkRecordKind.close) {
      throw new TrunkProtocolError(`unknown record kind ${kind}`);
    }
    if (data.length - start < length) throw new TrunkProtocolError('truncated payload');
    records.push({
      channel,
      kind: kind as TrunkRecordKind,
      payload: data.subarray(start, start + length),
    });
    offset = start + length;
  }
  return records;
}

/**
 * A received WebSocket message read as a trunk message: its records, or why it is not one (a
 * text message, or malformed records). Either side closes the trunk on the latter.
 */
export function readTrunkMessage(
  data: unknown,
  isBinary: boolean,
): { readonly records: TrunkRecord[] } | { readonly malformed: string } {
  if (!isBinary || !Buffer.isBuffer(data)) return { malformed: 'not a binary message' };
  try {
    return { records: decodeTrunkMessage(data) };
  } catch (error) {
    if (error instanceof TrunkProtocolError) return { malformed: error.message };
    throw error;
  }
}

/** What {@link keepTrunkAlive} needs of a WebSocket (a `ws` socket). */
export interface PingableSocket {
  ping(): void;
  terminate(): void;
  on(event: 'pong', listener: () => void): unknown;
  once(event: 'close', listener: () => void): unknown;
}

/**
 * Pings `socket` every `intervalMs` until it closes, and cuts it (`terminate`) when the previous
 * ping went unanswered: both ends of a trunk notice a peer that vanished without closing.
 */
export function keepTrunkAlive(socket: PingableSocket, intervalMs: number): void {
  let answered = true;
  socket.on('pong', () => (answered = true));
  const timer = setInterval(() => {
    if (!answered) {
      socket.terminate();
      return;
    }
    answered = false;
    socket.ping();
  }, intervalMs);
  socket.once('close', () => clearInterval(timer));
}

/** The payload of a `close` record. */
export function encodeTrunkClose(code: number, reason: string): Buffer {
  const reasonBytes = Buffer.from(reason.slice(0, 120), 'utf8');
  const payload = Buffer.allocUnsafe(2 + reasonBytes.length);
  payload.writeUInt16BE(code, 0);
  reasonBytes.copy(payload, 2);
  return payload;
}

/** Reads a `close` record's payload (a short one reads as 1005, "no status"). */
export function decodeTrunkClose(payload: Buffer): { code: number; reason: string } {
  if (payload.length < 2) return { code: 1005, reason: '' };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') };
}

/**
 * Collects records and sends them as one trunk message at the end of the event-loop turn
 * (`setImmediate`), or at once past {@link TRUNK_FLUSH_BYTES}. While `paused` (the socket is
 * still connecting) it only collects.
 */
export class TrunkWriter {
  readonly #send: (message: Buffer) => void;
  #records: { channel: number; kind: TrunkRecordKind; payload: string | Buffer; bytes: number }[] =
    [];
  #bytes = 0;
  #scheduled: NodeJS.Immediate | undefined;
  #paused: boolean;

  constructor(send: (message: Buffer) => void, options: { paused?: boolean } = {}) {
    this.#send = send;
    this.#paused = options.paused ?? false;
  }

  /** Queues a record; a string payload is written as UTF-8. */
  write(channel: number, kind: TrunkRecordKind, payload: string | Buffer = EMPTY): void {
    const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    this.#records.push({ channel, kind, payload, bytes });
    this.#bytes += HEADER_BYTES + bytes;
    if (this.#paused) return;
    if (this.#bytes >= TRUNK_FLUSH_BYTES) this.flush();
    else this.#scheduled ??= setImmediate(() => this.flush());
  }

  /** Starts sending (what was collected goes out now). */
  resume(): void {
    this.#paused = false;
    this.flush();
  }

  /** Sends what is queued as one message. */
  flush(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    if (this.#records.length === 0 || this.#paused) return;
    const message = Buffer.allocUnsafe(this.#bytes);
    let offset = 0;
    for (const record of this.#records) {
      message.writeUInt32BE(record.channel, offset);
      message[offset + 4] = record.kind;
      message.writeUInt32BE(record.bytes, offset + 5);
      offset += HEADER_BYTES;
      if (typeof record.payload === 'string') offset += message.write(record.payload, offset);
      else offset += record.payload.copy(message, offset);
    }
    this.#records = [];
    this.#bytes = 0;
    this.#send(message);
  }

  /** Drops what is queued (the socket is gone). */
  discard(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#records = [];
    this.#bytes = 0;
  }
}

const EMPTY = Buffer.alloc(0);
