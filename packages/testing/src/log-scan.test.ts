import { describe, expect, it } from 'vitest';
import { scanLogText } from './log-scan.ts';

const line = (fields: Record<string, unknown>) =>
  JSON.stringify({ level: 30, msg: 'x', ...fields });

describe('scanLogText', () => {
  it('finds phone numbers, tokens, base64 bytes, IP addresses and test plaintext', () => {
    const text = [
      line({ number: '+14155550123' }),
      line({ token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhYmNkZWZnaCJ9.c2lnbmF0dXJlX19fXw' }),
      line({ key: Buffer.alloc(33, 7).toString('base64') }),
      line({ client: '203.0.113.9' }),
      line({ client: '2001:db8::1' }),
      line({ text: 'the secret plaintext' }),
    ].join('\n');
    expect(scanLogText(text, ['secret plaintext']).map((finding) => finding.kind)).toEqual([
      'phone number',
      'access token (JWT)',
      'base64 bytes (key, ciphertext or content)',
      'IPv4 address',
      'IPv6 address',
      'test plaintext',
    ]);
  });

  it('passes clean lines and server addresses', () => {
    const text = [
      line({ url: 'http://127.0.0.1:4001/graphql', msg: 'subgraph listening' }),
      line({ requestId: '11c21bf1-393f-4d91-8db6-b4affbdc85b9', body: '[Redacted]' }),
      line({
        err: {
          message: 'boom',
          stack:
            'Error: boom\n    at run (/work/main/subgraphs/messages/src/services/delivery-service.ts:1:1)',
        },
      }),
      'not json at all',
    ].join('\n');
    expect(scanLogText(text)).toEqual([]);
  });
});
