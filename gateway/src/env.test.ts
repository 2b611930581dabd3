import { ConfigError } from '@courier/config';
import { DEFAULT_SUPERGRAPH_PATH } from '@courier/schema';
import { describe, expect, it } from 'vitest';
import { gatewayOptionsFromEnv, loadGatewayEnv } from './env.ts';

const SECRET = 'a-router-secret-that-is-long-enough-000';

function problems(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadGatewayEnv(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('gateway environment', () => {
  it('applies the defaults', () => {
    const options = gatewayOptionsFromEnv(loadGatewayEnv({ ROUTER_SECRET: SECRET }));
    expect(options).toEqual({
      supergraphPath: DEFAULT_SUPERGRAPH_PATH,
      subgraphUrls: {},
      routerSecret: SECRET,
      production: false,
      corsOrigins: [],
      host: '0.0.0.0',
      port: 4000,
      trustProxy: false,
      passthrough: true,
      trunksPerSubgraph: 2,
      tls: undefined,
      maxDepth: 12,
      maxAliases: 15,
      maxTokens: 2000,
      maxRequestBytes: 1_310_720,
    });
  });

  it('reads every variable', () => {
    const options = gatewayOptionsFromEnv(
      loadGatewayEnv({
        ROUTER_SECRET: SECRET,
        NODE_ENV: 'production',
        GATEWAY_PORT: '8443',
        GATEWAY_HOST: '127.0.0.1',
        CORS_ORIGINS: 'https://app.example.com, https://admin.example.com:8080/',
        MESSAGES_SUBGRAPH_URL: 'http://messages.internal:4003/graphql',
        GATEWAY_MAX_DEPTH: '8',
        GATEWAY_MAX_ALIASES: '4',
        GATEWAY_MAX_TOKENS: '500',
        GATEWAY_MAX_REQUEST_BYTES: '65536',
        GATEWAY_PASSTHROUGH: 'false',
        GATEWAY_TRUNKS: '4',
      }),
    );
    expect(options).toMatchObject({
      production: true,
      port: 8443,
      host: '127.0.0.1',
      corsOrigins: ['https://app.example.com', 'https://admin.example.com:8080/'],
      subgraphUrls: { messages: 'http://messages.internal:4003/graphql' },
      maxDepth: 8,
      maxAliases: 4,
      maxTokens: 500,
      maxRequestBytes: 65536,
      passthrough: false,
      trunksPerSubgraph: 4,
    });
  });

  it('lists every problem at once', () => {
    const found = problems({
      ROUTER_SECRET: 'short{',
      GATEWAY_PORT: '70000',
      CORS_ORIGINS: 'https://ok.example,not a url,https://x.example/path',
      KEYS_SUBGRAPH_URL: 'ftp://keys/graphql',
      TLS_CERT_FILE: '/does/not/exist.pem',
      GATEWAY_MAX_DEPTH: '0',
      GATEWAY_TRUNKS: '65',
    });
    const variables = found.map((problem) => problem.split(/[.:]/)[0]);
    expect(variables).toEqual(
      expect.arrayContaining([
        'ROUTER_SECRET',
        'GATEWAY_PORT',
        'CORS_ORIGINS',
        'KEYS_SUBGRAPH_URL',
        'TLS_CERT_FILE',
        'GATEWAY_MAX_DEPTH',
        'GATEWAY_TRUNKS',
      ]),
    );
  });

  it('wants both TLS files or neither', () => {
    expect(problems({ ROUTER_SECRET: SECRET, TLS_KEY_FILE: DEFAULT_SUPERGRAPH_PATH })).toEqual([
      'TLS_CERT_FILE: set both TLS_CERT_FILE and TLS_KEY_FILE, or neither',
    ]);
  });
});
