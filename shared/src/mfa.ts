/**
 * Staff two-step sign-in rules, with no I/O: who needs a code, who must enrol first, who may turn it
 * off, and the limits on code attempts. Clients never get MFA.
 */
import type { UserRole } from './tiers';

/** Minutes and counts that bound code guessing; durations in milliseconds. */
export const MFA_LIMITS = {
  /** How long the step between password and code lasts. */
  verifyChallengeTtlMs: 5 * 60 * 1000,
  /** Enrolment at sign-in takes longer: install an app, scan the code, type the first code. */
  enrolChallengeTtlMs: 10 * 60 * 1000,
  /** Wrong codes one challenge takes; then it is dead and the password must be given again. */
  attemptsPerChallenge: 5,
  /** Wrong codes one account takes in `windowMs`, from anywhere, at sign-in and in settings. */
  failuresPerAccount: 10,
  windowMs: 15 * 60 * 1000,
} as const;

/** TOTP parameters every authenticator app understands (Google Authenticator ignores anything else). */
export const TOTP = {
  issuer: 'Hybrid Coach',
  algorithm: 'SHA1',
  digits: 6,
  periodSeconds: 30,
  /** 160 bits, as RFC 4226 recommends for the shared secret. */
  secretBytes: 20,
  /** Codes of the step before and after are accepted too (clock drift, typing time). */
  window: 1,
} as const;

export const RECOVERY_CODE_COUNT = 10;

/** Whether MFA is required of this role (admins always; coaches when MFA_REQUIRED_FOR_COACHES is on). */
export function mfaRequiredFor(role: UserRole, requiredForCoaches: boolean): boolean {
  return role === 'ADMIN' || (role === 'COACH' && requiredForCoaches);
}

/** Whether this role may use MFA at all: staff only. */
export const mfaAvailableTo = (role: UserRole): boolean => role === 'ADMIN' || role === 'COACH';

/**
 * What a right password leads to: a grant (`none`), a code first (`verify`: MFA is on), or enrolment
 * first (`enrol`: MFA is required of the role and is not on yet). A client always gets `none`, even
 * with a row left from a time they were staff.
 */
export function signInStep(role: UserRole, mfaEnabled: boolean, requiredForCoaches: boolean): 'none' | 'verify' | 'enrol' {
  if (!mfaAvailableTo(role)) return 'none';
  if (mfaEnabled) return 'verify';
  return mfaRequiredFor(role, requiredForCoaches) ? 'enrol' : 'none';
}

/** A recovery code as typed: case, spaces and dashes do not matter. */
export const normalizeRecoveryCode = (typed: string): string => typed.toLowerCase().replace(/[\s-]/g, '');

/** A TOTP code as typed: spaces (some apps show "123 456") do not matter. */
export const normalizeTotpCode = (typed: string): string => typed.replace(/\s/g, '');
