export interface Account {
  userId: string;
  /** `Bearer …`, ready for the Authorization header. */
  authorization: string;
}

/**
 * Real accounts, made through `POST /api/v1/auth/register` (password hashing, session, tokens: the full
 * path), `concurrency` at a time. Hashing dominates: about 40 a second on two cores. The API must run with
 * a registration rate limit above `count` (run.ts sets AUTH_RATE_LIMIT_PER_MINUTE).
 */
export async function registerAccounts(
  apiUrl: string,
  { count, label, concurrency = 8 }: { count: number; label: string; concurrency?: number },
): Promise<Account[]> {
  const accounts: Account[] = new Array(count);
  const stamp = Date.now().toString(36);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const response = await fetch(new URL('/api/v1/auth/register', apiUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          email: `bench-${label}-${stamp}-${index}@example.com`,
          password: 'bench-Passw0rd-long-enough',
          full_name: `Bench ${label} ${index + 1}`,
        }),
      });
      const body = (await response.json()) as { access_token?: string; user?: { id?: string } };
      if (response.status !== 201 || !body.access_token || !body.user?.id) {
        throw new Error(`register answered ${response.status}: ${JSON.stringify(body)}`);
      }
      accounts[index] = { userId: body.user.id, authorization: `Bearer ${body.access_token}` };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return accounts;
}
