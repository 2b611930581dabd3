import type { Client } from 'graphql-ws';
import { createWsClient, postGraphQL, subscribe, type GraphQLResponse } from './graphql-client.ts';

/** `Subscription.envelopes` with every `Envelope` field. */
export const ENVELOPES_SUBSCRIPTION = `subscription { envelopes { __typename ... on Envelope {
  guid serverTimestamp type sourceServiceId sourceDevice destinationServiceId clientTimestamp
  content urgent story ephemeral protobuf } } }`;

/** `acknowledgeEnvelopes`. */
export const ACKNOWLEDGE_ENVELOPES = `mutation ($g: [ID!]!) { acknowledgeEnvelopes(guids: $g) }`;

/** An event of `Subscription.envelopes` as {@link ENVELOPES_SUBSCRIPTION} selects it. */
export interface EnvelopeEvent {
  __typename: 'Envelope' | 'QueueEmpty';
  guid: string;
  serverTimestamp: number;
  type: string;
  sourceServiceId: string | null;
  sourceDevice: number | null;
  destinationServiceId: string;
  clientTimestamp: number;
  content: string | null;
  urgent: boolean;
  story: boolean;
  ephemeral: boolean;
  protobuf: string;
}

/** A device's envelope subscription over graphql-ws (through the gateway, or straight to a subgraph). */
export class Inbox {
  readonly #client: Client;
  readonly #events: AsyncIterableIterator<GraphQLResponse<{ envelopes: EnvelopeEvent }>>;

  /** Opens the subscription at `wsUrl` as the device of `token`. */
  constructor(wsUrl: string, token: string) {
    this.#client = createWsClient(wsUrl, { token });
    this.#events = subscribe<{ envelopes: EnvelopeEvent }>(this.#client, ENVELOPES_SUBSCRIPTION);
  }

  /** The next raw result (data or errors), or undefined when the subscription ended. */
  async nextResult(): Promise<GraphQLResponse<{ envelopes: EnvelopeEvent }> | undefined> {
    const result = await this.#events.next();
    return result.done ? undefined : result.value;
  }

  /** The next event; throws when the subscription ended or answered errors. */
  async next(): Promise<EnvelopeEvent> {
    const result = await this.nextResult();
    if (!result) throw new Error('subscription ended');
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    return result.data!.envelopes;
  }

  /** Reads envelopes until `QueueEmpty`: the stored ones; after it the subscription is live. */
  async drain(): Promise<EnvelopeEvent[]> {
    const envelopes: EnvelopeEvent[] = [];
    for (;;) {
      const event = await this.next();
      if (event.__typename === 'QueueEmpty') return envelopes;
      envelopes.push(event);
    }
  }

  /** Reads until `count` envelopes arrived (skipping `QueueEmpty`). */
  async take(count: number): Promise<EnvelopeEvent[]> {
    const envelopes: EnvelopeEvent[] = [];
    while (envelopes.length < count) {
      const event = await this.next();
      if (event.__typename === 'Envelope') envelopes.push(event);
    }
    return envelopes;
  }

  async close(): Promise<void> {
    await this.#events.return?.();
    await this.#client.dispose();
  }
}

/** Acknowledges envelopes over HTTP; resolves with how many the server deleted. */
export async function acknowledgeEnvelopes(
  url: string,
  token: string,
  guids: readonly string[],
): Promise<number> {
  const { body } = await postGraphQL<{ acknowledgeEnvelopes: number }>(url, ACKNOWLEDGE_ENVELOPES, {
    token,
    variables: { g: guids },
  });
  if (body.errors || !body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.acknowledgeEnvelopes;
}
