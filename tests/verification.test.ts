import { randomBytes } from 'node:crypto';
import {
  LogVerificationCodeSender,
  VerificationCodeHasher,
  VerificationOutbox,
  VerificationService,
  VerificationSessionRepository,
} from '@courier/accounts/verification';
import { createRateLimits } from '@courier/limits';
import { postGraphQL, startPlatform, type GraphQLResponse, type Platform } from '@courier/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SESSION_FIELDS = `id number verified allowedToRequestCode nextSmsAt nextVoiceAt
  nextVerificationAttemptAt codeExpiresAt remainingVerificationAttempts expiresAt`;

interface Session {
  id: string;
  number: string;
  verified: boolean;
  allowedToRequestCode: boolean;
  nextSmsAt: number | null;
  nextVoiceAt: number | null;
  nextVerificationAttemptAt: number | null;
  codeExpiresAt: number | null;
  remainingVerificationAttempts: number;
  expiresAt: number;
}

type Errors = NonNullable<GraphQLResponse['errors']>;

let numberSeq = 0;
/** A fresh valid US number per call, so per-number buckets of different tests never meet. */
function freshNumber(): string {
  numberSeq += 1;
  return `+1415555${String(1000 + numberSeq).slice(-4)}`;
}

describe('verification sessions through the gateway', () => {
  let platform: Platform;
  let outbox: VerificationOutbox;

  const gql = <T = Record<string, Session | null>>(query: string, variables = {}) =>
    postGraphQL<T>(platform.gatewayUrl, query, { variables }).then(({ body }) => body);

  const create = async (number: string): Promise<Session> => {
    const body = await gql<{ createVerificationSession: Session }>(
      `mutation ($number: String!) { createVerificationSession(number: $number) { ${SESSION_FIELDS} } }`,
      { number },
    );
    expect(body.errors).toBeUndefined();
    return body.data!.createVerificationSession;
  };

  const request = (sessionId: string, transport: 'SMS' | 'VOICE' = 'SMS') =>
    gql<{ requestVerificationCode: Session | null }>(
      `mutation ($id: ID!, $transport: VerificationTransport!) {
        requestVerificationCode(sessionId: $id, transport: $transport, locale: "en-US") { ${SESSION_FIELDS} }
      }`,
      { id: sessionId, transport },
    );

  const submit = (sessionId: string, code: string) =>
    gql<{ submitVerificationCode: Session | null }>(
      `mutation ($id: ID!, $code: String!) {
        submitVerificationCode(sessionId: $id, code: $code) { ${SESSION_FIELDS} }
      }`,
      { id: sessionId, code },
    );

  const codeFor = (number: string): string => {
    const sent = outbox.latest(number);
    expect(sent).toBeDefined();
    return sent!.code;
  };

  const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

  const errorOf = (errors: Errors | undefined) => errors?.[0]?.extensions ?? {};

  beforeAll(async () => {
    platform = await startPlatform();
    if (!platform.accounts.verificationOutbox) throw new Error('tests need the log sender');
    outbox = platform.accounts.verificationOutbox;
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('verifies a number end to end with the code from the outbox; registration consumes it once', async () => {
    const session = await create('+1 (415) 555-0100');
    expect(session).toMatchObject({
      number: '+14155550100',
      verified: false,
      allowedToRequestCode: true,
      nextVoiceAt: null,
      nextVerificationAttemptAt: null,
      codeExpiresAt: null,
      remainingVerificationAttempts: 5,
    });
    expect(session.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.nextSmsAt).toBeTypeOf('number');

    const requested = await request(session.id);
    expect(requested.errors).toBeUndefined();
    const afterRequest = requested.data!.requestVerificationCode!;
    expect(afterRequest.codeExpiresAt).toBeGreaterThan(Date.now() + 9 * 60_000);
    expect(afterRequest.nextVerificationAttemptAt).toBeTypeOf('number');
    expect(afterRequest.nextSmsAt).toBeGreaterThan(Date.now() + 50_000);
    expect(afterRequest.nextVoiceAt).toBe(afterRequest.nextSmsAt);

    const sent = outbox.latest('+14155550100')!;
    expect(sent).toMatchObject({ transport: 'SMS', locale: 'en-US' });
    expect(sent.code).toMatch(/^\d{6}$/);

    // Neither the session id nor the code is stored in the clear.
    const rows = await platform.runtime.prisma.verificationSession.findMany({
      where: { number: '+14155550100' },
    });
    expect(rows).toHaveLength(1);
    const stored = JSON.stringify(rows[0], (_key, value: unknown) =>
      value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value,
    );
    expect(stored).not.toContain(session.id);
    expect(stored).not.toContain(Buffer.from(session.id, 'base64url').toString('hex'));
    expect(rows[0]!.codeHash).toHaveLength(32);

    const verified = await submit(session.id, sent.code);
    expect(verified.errors).toBeUndefined();
    expect(verified.data!.submitVerificationCode).toMatchObject({
      verified: true,
      allowedToRequestCode: false,
      nextSmsAt: null,
      nextVerificationAttemptAt: null,
      codeExpiresAt: null,
    });
    const state = await gql<{ verificationSession: Session }>(
      `query ($id: ID!) { verificationSession(id: $id) { verified number } }`,
      { id: session.id },
    );
    expect(state.data?.verificationSession).toEqual({ verified: true, number: '+14155550100' });

    const again = await request(session.id);
    expect(errorOf(again.errors)).toMatchObject({ code: 'CONFLICT', reason: 'SESSION_VERIFIED' });

    const { verification } = platform.accounts;
    const consumed = await platform.runtime.prisma.$transaction((tx) =>
      verification.consumeVerifiedSession(session.id, tx),
    );
    expect(consumed).toEqual({ number: '+14155550100' });
    await expect(
      platform.runtime.prisma.$transaction((tx) =>
        verification.consumeVerifiedSession(session.id, tx),
      ),
    ).rejects.toMatchObject({ extensions: { code: 'NOT_FOUND' } });
    const gone = await gql(`query ($id: ID!) { verificationSession(id: $id) { id } }`, {
      id: session.id,
    });
    expect(errorOf(gone.errors)).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses to consume an unverified session and leaves it usable; a rolled-back consume changes nothing', async () => {
    const number = freshNumber();
    const session = await create(number);
    const { verification } = platform.accounts;
    await expect(
      platform.runtime.prisma.$transaction((tx) =>
        verification.consumeVerifiedSession(session.id, tx),
      ),
    ).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', reason: 'SESSION_NOT_VERIFIED' },
    });
    await request(session.id);
    await submit(session.id, codeFor(number));
    await expect(
      platform.runtime.prisma.$transaction(async (tx) => {
        await verification.consumeVerifiedSession(session.id, tx);
        throw new Error('registration failed later');
      }),
    ).rejects.toThrow('registration failed later');
    await expect(
      platform.runtime.prisma.$transaction((tx) =>
        verification.consumeVerifiedSession(session.id, tx),
      ),
    ).resolves.toEqual({ number });
  });

  it.each(['+1234', '14155550100', '+14155550100x12', '+44 1632 960000', 'not a number', ''])(
    'refuses the invalid number %j with BAD_USER_INPUT and creates nothing',
    async (number) => {
      const before = await platform.runtime.prisma.verificationSession.count();
      const body = await gql(
        `mutation ($number: String!) { createVerificationSession(number: $number) { id } }`,
        { number },
      );
      expect(errorOf(body.errors)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'number' });
      expect(body.data?.['createVerificationSession'] ?? null).toBeNull();
      expect(await platform.runtime.prisma.verificationSession.count()).toBe(before);
    },
  );

  it('answers NOT_FOUND for an unknown session and BAD_USER_INPUT for a malformed id or code', async () => {
    const unknown = randomBytes(32).toString('base64url');
    expect(errorOf((await request(unknown)).errors)).toMatchObject({ code: 'NOT_FOUND' });
    expect(errorOf((await submit(unknown, '123456')).errors)).toMatchObject({ code: 'NOT_FOUND' });
    expect(errorOf((await submit('short', '123456')).errors)).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'sessionId',
    });
    const session = await create(freshNumber());
    for (const code of ['12345', '1234567', 'abcdef', '١٢٣٤٥٦']) {
      expect(errorOf((await submit(session.id, code)).errors)).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'code',
      });
    }
    const bad = await gql(
      `mutation ($id: ID!) { requestVerificationCode(sessionId: $id, transport: SMS, locale: "en_US!!") { id } }`,
      { id: session.id },
    );
    expect(errorOf(bad.errors)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'locale' });
    expect(errorOf((await submit(session.id, '123456')).errors)).toMatchObject({
      code: 'CONFLICT',
      reason: 'NO_CODE_REQUESTED',
    });
  });

  it('rate limits opening sessions for one number', async () => {
    const number = '+14155550177';
    for (let i = 0; i < 6; i++) await create(number);
    const body = await gql(
      'mutation ($n: String!) { createVerificationSession(number: $n) { id } }',
      { n: number },
    );
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      retryAfter: expect.any(Number),
    });
    expect(await platform.runtime.prisma.verificationSession.count({ where: { number } })).toBe(6);
  });

  it('refuses a wrong code with the attempts left, then accepts the right one', async () => {
    const number = freshNumber();
    const session = await create(number);
    await request(session.id);
    const code = codeFor(number);
    const refused = await submit(session.id, wrong(code));
    expect(refused.data?.submitVerificationCode ?? null).toBeNull();
    expect(errorOf(refused.errors)).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'INCORRECT_CODE',
      remainingAttempts: 4,
    });
    const state = await gql<{ verificationSession: Session }>(
      `query ($id: ID!) { verificationSession(id: $id) { remainingVerificationAttempts verified } }`,
      { id: session.id },
    );
    expect(state.data?.verificationSession).toEqual({
      remainingVerificationAttempts: 4,
      verified: false,
    });
    const accepted = await submit(session.id, code);
    expect(accepted.data?.submitVerificationCode?.verified).toBe(true);
  });

  it('refuses an expired code with CODE_EXPIRED', async () => {
    const number = freshNumber();
    const session = await create(number);
    await request(session.id);
    // Age the code as if 10 minutes had passed (the service clock is covered below).
    await platform.runtime.prisma.verificationSession.updateMany({
      where: { number },
      data: { codeExpiresAt: new Date(Date.now() - 1) },
    });
    const body = await submit(session.id, codeFor(number));
    expect(errorOf(body.errors)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'CODE_EXPIRED' });
  });

  it('locks the session after five wrong codes; even the right code is refused then', async () => {
    const number = freshNumber();
    const session = await create(number);
    await request(session.id);
    const code = codeFor(number);
    for (let left = 4; left >= 0; left -= 1) {
      expect(errorOf((await submit(session.id, wrong(code))).errors)).toMatchObject({
        reason: 'INCORRECT_CODE',
        remainingAttempts: left,
      });
    }
    expect(errorOf((await submit(session.id, code)).errors)).toMatchObject({
      code: 'CONFLICT',
      reason: 'SESSION_LOCKED',
    });
    const state = await gql<{ verificationSession: Session }>(
      `query ($id: ID!) { verificationSession(id: $id) { ${SESSION_FIELDS} } }`,
      { id: session.id },
    );
    expect(state.data?.verificationSession).toMatchObject({
      verified: false,
      allowedToRequestCode: false,
      nextSmsAt: null,
      nextVerificationAttemptAt: null,
      remainingVerificationAttempts: 0,
    });
    expect(errorOf((await request(session.id)).errors)).toMatchObject({
      code: 'CONFLICT',
      reason: 'SESSION_LOCKED',
    });
  });

  it('counts each aliased submitVerificationCode in one request as one attempt', async () => {
    const number = freshNumber();
    const sessions = [await create(number), await create(number), await create(number)];
    for (const session of sessions) expect((await request(session.id)).errors).toBeUndefined();
    const codes = outbox.all(number).map((sent) => sent.code);
    expect(codes).toHaveLength(3);
    const aliased = (count: number) =>
      `mutation ($id: ID!, $code: String!) { ${Array.from(
        { length: count },
        (_, i) => `a${i}: submitVerificationCode(sessionId: $id, code: $code) { verified }`,
      ).join(' ')} }`;

    // Ten aliased wrong codes on one session: five are counted and lock it, the rest are refused.
    const first = await gql(aliased(10), { id: sessions[0]!.id, code: wrong(codes[0]!) });
    const byAlias = new Map(first.errors?.map((error) => [error.path?.[0], error.extensions]));
    expect(byAlias.size).toBe(10);
    for (let i = 0; i < 5; i += 1) {
      expect(byAlias.get(`a${i}`)).toMatchObject({
        reason: 'INCORRECT_CODE',
        remainingAttempts: 4 - i,
      });
    }
    for (let i = 5; i < 10; i += 1) {
      expect(byAlias.get(`a${i}`)).toMatchObject({ code: 'CONFLICT', reason: 'SESSION_LOCKED' });
    }

    // The per-number bucket (10 guesses) saw those five; five aliased guesses on a second session
    // fill it, so a third session of the same number is rate limited even with the right code.
    const second = await gql(aliased(5), { id: sessions[1]!.id, code: wrong(codes[1]!) });
    expect(second.errors).toHaveLength(5);
    const third = await submit(sessions[2]!.id, codes[2]!);
    expect(errorOf(third.errors)).toMatchObject({ code: 'RATE_LIMITED' });
    expect(errorOf(third.errors)['retryAfter']).toBeGreaterThanOrEqual(1);
  });

  it('rate limits code requests per session and per number with retryAfter', async () => {
    const number = freshNumber();
    const first = await create(number);
    expect(errorOf((await request(first.id, 'VOICE')).errors)).toMatchObject({
      code: 'CONFLICT',
      reason: 'SMS_REQUIRED_FIRST',
    });
    expect((await request(first.id)).errors).toBeUndefined();

    // The session's own schedule: the next code only after a minute (aliases count too).
    const twice = await gql(
      `mutation ($id: ID!) {
        v: requestVerificationCode(sessionId: $id, transport: VOICE) { id }
        s: requestVerificationCode(sessionId: $id, transport: SMS) { id }
      }`,
      { id: first.id },
    );
    expect(twice.errors).toHaveLength(2);
    for (const error of twice.errors!) {
      expect(error.extensions).toMatchObject({ code: 'RATE_LIMITED' });
      expect(error.extensions?.['retryAfter']).toBeGreaterThan(50);
      expect(error.extensions?.['retryAfter']).toBeLessThanOrEqual(60);
    }

    // The number's bucket: three codes, whatever the session, then one per ten minutes.
    for (let i = 0; i < 2; i += 1) {
      const session = await create(number);
      expect((await request(session.id)).errors).toBeUndefined();
    }
    const fourth = await create(number);
    const limited = await request(fourth.id);
    expect(limited.data?.requestVerificationCode ?? null).toBeNull();
    expect(errorOf(limited.errors)).toMatchObject({ code: 'RATE_LIMITED' });
    expect(errorOf(limited.errors)['retryAfter']).toBeGreaterThan(60);
    expect(outbox.all(number)).toHaveLength(3);
  });
});

describe('verification service with an injected clock (real PostgreSQL)', () => {
  let platform: Platform;
  let clock = 0;
  let service: VerificationService;
  let outbox: VerificationOutbox;

  beforeAll(async () => {
    platform = await startPlatform();
    clock = Date.now();
    outbox = new VerificationOutbox();
    const logger = platform.runtime.logger;
    service = new VerificationService({
      repository: new VerificationSessionRepository(platform.runtime.prisma),
      sender: new LogVerificationCodeSender({ logger, production: false, outbox }),
      hasher: new VerificationCodeHasher(randomBytes(32).toString('hex')),
      limits: createRateLimits({ now: () => clock }),
      logger,
      now: () => clock,
    });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  const minutes = (n: number) => n * 60_000;

  it('expires a code after 10 minutes and lets a new one through on schedule', async () => {
    const number = '+14155559001';
    const session = await service.createSession(number);
    await service.requestCode(session.id, 'SMS', null);
    const firstCode = outbox.latest(number)!.code;
    clock += minutes(10) - 1;
    await expect(service.getSession(session.id)).resolves.toMatchObject({
      codeExpiresAt: clock + 1,
      nextVerificationAttemptAt: clock,
    });
    clock += 1;
    await expect(service.submitCode(session.id, firstCode)).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', reason: 'CODE_EXPIRED' },
    });
    await expect(service.getSession(session.id)).resolves.toMatchObject({
      codeExpiresAt: null,
      nextVerificationAttemptAt: null,
      remainingVerificationAttempts: 5,
    });
    // A new code in the same session works.
    await service.requestCode(session.id, 'SMS', null);
    const secondCode = outbox.latest(number)!.code;
    clock += minutes(15);
    // Fifteen minutes after its last code the session itself is gone.
    await expect(service.submitCode(session.id, secondCode)).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
  });

  it('keeps a session alive while codes are sent on schedule; a verified session lasts 10 minutes', async () => {
    const number = '+14155559002';
    const session = await service.createSession(number);
    const createdAt = clock;
    await service.requestCode(session.id, 'SMS', null);
    clock += minutes(1);
    await expect(service.requestCode(session.id, 'VOICE', 'de')).resolves.toMatchObject({
      expiresAt: clock + minutes(15),
    });
    expect(outbox.latest(number)).toMatchObject({ transport: 'VOICE', locale: 'de' });
    clock += minutes(1);
    const early = service.requestCode(session.id, 'SMS', null);
    await expect(early).rejects.toMatchObject({
      extensions: { code: 'RATE_LIMITED', retryAfter: 60 },
    });
    clock += minutes(1);
    const third = await service.requestCode(session.id, 'SMS', null);
    expect(third.nextSmsAt).toBe(clock + minutes(5));
    const code = outbox.latest(number)!.code;
    clock += minutes(9);
    const verified = await service.submitCode(session.id, code);
    expect(verified).toMatchObject({ verified: true, expiresAt: clock + minutes(10) });
    expect(verified.expiresAt - createdAt).toBeGreaterThan(minutes(20));
    clock += minutes(10);
    await expect(
      platform.runtime.prisma.$transaction((tx) => service.consumeVerifiedSession(session.id, tx)),
    ).rejects.toMatchObject({ extensions: { code: 'NOT_FOUND' } });
  });

  it('expires an abandoned session 15 minutes after creation', async () => {
    const session = await service.createSession('+14155559003');
    clock += minutes(15) - 1;
    await expect(service.getSession(session.id)).resolves.toMatchObject({ verified: false });
    clock += 1;
    await expect(service.requestCode(session.id, 'SMS', null)).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
  });

  it('purges expired sessions and only those', async () => {
    const stale = await service.createSession('+14155559004');
    clock += minutes(16);
    const live = await service.createSession('+14155559005');
    expect(await service.purgeExpired()).toBeGreaterThanOrEqual(1);
    await expect(service.getSession(stale.id)).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
    await expect(service.getSession(live.id)).resolves.toMatchObject({ verified: false });
    expect(await service.purgeExpired()).toBe(0);
  });
});
