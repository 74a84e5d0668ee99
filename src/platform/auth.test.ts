import { TokenError } from 'fast-jwt';
import { describe, expect, it } from 'vitest';
import { createTokenSigner } from './auth.ts';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const claims = { userId: 'u-1', sessionId: 's-1', roles: ['client' as const] };

/** The verified-token cache must never answer for a token past its expiry, nor for a token it never saw. */
describe('createTokenSigner', () => {
  it('refuses a token once it expires, though it was verified (and cached) before', async () => {
    const signer = createTokenSigner(SECRET, 1);
    const token = await signer.sign(claims);
    await expect(signer.verify(token)).resolves.toEqual(claims);
    await expect(signer.verify(token)).resolves.toEqual(claims);

    const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 20));

    const refusal = await signer.verify(token).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(TokenError);
    expect((refusal as TokenError).code).toBe(TokenError.codes.expired);
  });

  it('does not take a token signed with another key for one it has verified', async () => {
    const signer = createTokenSigner(SECRET, 600);
    const other = createTokenSigner(`${SECRET}-other`, 600);
    const token = await signer.sign(claims);
    await signer.verify(token);

    const forged = await other.sign({ ...claims, roles: ['admin'] });
    await expect(signer.verify(forged)).rejects.toBeInstanceOf(TokenError);
  });
});
