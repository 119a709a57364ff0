/** What a new password must be: long enough, and not one of the passwords everyone tries first. */

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

/** The most used passwords of 12+ characters in public breach lists (lower-cased). */
const COMMON = new Set([
  '123456789012',
  '1234567890123',
  '12345678901234',
  '123456123456',
  '111111111111',
  '000000000000',
  'password1234',
  'password12345',
  'password123456',
  'passwordpassword',
  'qwertyuiopas',
  'qwertyuiop123',
  'qwerty123456',
  '1q2w3e4r5t6y',
  '1qaz2wsx3edc',
  'iloveyou1234',
  'abcdefghijkl',
  'abc123abc123',
  'letmein12345',
  'welcome12345',
  'welcome123456',
  'changeme1234',
  'administrator',
  'administrator1',
  'football1234',
  'baseball1234',
  'princess1234',
  'sunshine1234',
  'trustno11234',
  'monkey123456',
  'dragon123456',
  'master123456',
  'superman1234',
  'starwars1234',
  'asdfghjkl123',
  'zxcvbnm12345',
  'passw0rd1234',
  'p@ssw0rd1234',
  'p@ssword1234',
  'hybrid-demo-2026',
  'hybridcoach123',
  'vagusnerve123',
]);

/** Answers why `password` is refused, or null when it is acceptable. */
export function passwordProblem(password: string, email?: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `Use at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `Use at most ${MAX_PASSWORD_LENGTH} characters`;
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return 'This password is too common';
  if (/^(.)\1+$/.test(password)) return 'Do not repeat one character';
  if (/^\d+$/.test(password)) return 'Use more than digits';
  const local = email?.split('@')[0]?.toLowerCase();
  if (local && local.length >= 4 && lower.includes(local)) return 'Do not use your email address in your password';
  return null;
}
