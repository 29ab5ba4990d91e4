import { type Algorithm, hash, verify } from "@node-rs/argon2";

/** `Algorithm.Argon2id`; the enum is a const enum, which type stripping cannot inline. */
const argon2id = 2 as Algorithm.Argon2id;

/**
 * argon2id with OWASP's first recommended setting (19 MiB, 2 passes, 1 lane). Raising these
 * makes every login with an older hash rehash it (see {@link needsRehash}).
 */
export const passwordParameters = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Hashes a password into a PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). */
export async function hashPassword(password: string): Promise<string> {
  return await hash(password, { algorithm: argon2id, ...passwordParameters });
}

/** Checks a password against a PHC hash; a malformed hash is simply a mismatch. */
export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password);
  } catch {
    return false;
  }
}

/** Whether a stored hash uses another algorithm or weaker parameters than today's. */
export function needsRehash(phc: string): boolean {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(phc);
  if (match == null) return true;
  const [, m, t, p] = match.map(Number) as [number, number, number, number];
  return m < passwordParameters.memoryCost || t < passwordParameters.timeCost || p !== passwordParameters.parallelism;
}

let dummy: Promise<string> | undefined;

/**
 * Spends the same time as checking a real password, for logins with an unknown username: the
 * answer and its timing must not tell whether the account exists.
 */
export async function verifyDummyPassword(password: string): Promise<false> {
  dummy ??= hashPassword("an unguessable dummy password that no account has");
  await verifyPassword(await dummy, password);
  return false;
}
