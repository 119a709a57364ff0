import { describe, expect, it } from 'vitest';
import { mfaRequiredFor, normalizeRecoveryCode, signInStep } from '../src/mfa';

describe('who needs a second step at sign-in', () => {
  it('never asks a client, even with MFA left from a time they were staff', () => {
    expect(signInStep('CLIENT', false, true)).toBe('none');
    expect(signInStep('CLIENT', true, true)).toBe('none');
  });

  it('asks staff with MFA on for a code', () => {
    expect(signInStep('COACH', true, false)).toBe('verify');
    expect(signInStep('ADMIN', true, false)).toBe('verify');
  });

  it('makes an admin without MFA set it up first; a coach only when the setting says so', () => {
    expect(signInStep('ADMIN', false, false)).toBe('enrol');
    expect(signInStep('COACH', false, false)).toBe('none');
    expect(signInStep('COACH', false, true)).toBe('enrol');
    expect(mfaRequiredFor('ADMIN', false)).toBe(true);
    expect(mfaRequiredFor('COACH', false)).toBe(false);
    expect(mfaRequiredFor('COACH', true)).toBe(true);
    expect(mfaRequiredFor('CLIENT', true)).toBe(false);
  });

  it('reads a recovery code whatever its case, spaces and dashes', () => {
    expect(normalizeRecoveryCode(' ABCD-efgh ijkl-MNOP ')).toBe('abcdefghijklmnop');
  });
});
