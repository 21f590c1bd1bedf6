import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { metricsAuthorized, sameSecret, type MetricsAuth } from '../src/index.js';

function request(authorization?: string): IncomingMessage {
  return { headers: authorization === undefined ? {} : { authorization } } as IncomingMessage;
}

const bearer: MetricsAuth = { kind: 'bearer', token: 'the-metrics-token-0123456789abcdef' };
const basic: MetricsAuth = { kind: 'basic', user: 'prometheus', password: 'a-password-of-length' };
const basicHeader = (scheme: string, credentials: string): string =>
  `${scheme} ${Buffer.from(credentials).toString('base64')}`;

describe('metricsAuthorized', () => {
  it('reads the scheme case-insensitively, as HTTP says', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER'])
      expect(metricsAuthorized(bearer, request(`${scheme} the-metrics-token-0123456789abcdef`)), scheme).toBe(true);
    for (const scheme of ['Basic', 'basic', 'BASIC'])
      expect(metricsAuthorized(basic, request(basicHeader(scheme, 'prometheus:a-password-of-length'))), scheme).toBe(
        true,
      );
    expect(metricsAuthorized(bearer, request('Bearer   the-metrics-token-0123456789abcdef'))).toBe(true);
  });

  it('refuses wrong, partial, missing and malformed credentials', () => {
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      'Bearer wrong',
      'Bearer the-metrics-token-0123456789abcde',
      'Bearer the-metrics-token-0123456789abcdef extra',
      'Basic the-metrics-token-0123456789abcdef',
      'Bearerthe-metrics-token-0123456789abcdef',
    ]) {
      expect(metricsAuthorized(bearer, request(header)), String(header)).toBe(false);
    }
    for (const header of [
      basicHeader('Basic', 'prometheus:wrong'),
      basicHeader('Basic', 'other:a-password-of-length'),
      basicHeader('Basic', 'prometheus'),
      basicHeader('Bearer', 'prometheus:a-password-of-length'),
    ]) {
      expect(metricsAuthorized(basic, request(header)), header).toBe(false);
    }
  });

  it('lets anyone in when no credentials are configured', () => {
    expect(metricsAuthorized({ kind: 'none' }, request())).toBe(true);
  });
});

describe('sameSecret', () => {
  it('compares secrets of any two lengths without throwing', () => {
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abc', 'abcd')).toBe(false);
    expect(sameSecret('', 'a'.repeat(1000))).toBe(false);
    expect(sameSecret('é', 'e')).toBe(false);
  });
});
