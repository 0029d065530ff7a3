import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../connectors/errors';

/** A secret is never written in the file: it names an environment variable or a file. */
export const SecretRef = z.union(
  [z.object({ env: z.string().min(1) }).strict(), z.object({ file: z.string().min(1) }).strict()],
  { error: 'a secret is never written in the file: use { env: NAME } or { file: /path }' },
);
export type SecretRef = z.infer<typeof SecretRef>;

/**
 * Reads a secret where it is used (inside activities and servers), never when the config is
 * loaded, so it does not travel through workflow inputs. `what` names the config path in errors;
 * the value itself never appears in a message.
 */
export function resolveSecret(ref: SecretRef, what: string): string {
  if ('env' in ref) {
    const value = process.env[ref.env];
    if (!value) throw new ConfigError(`${what}: environment variable ${ref.env} is not set`);
    return value;
  }
  let value: string;
  try {
    value = readFileSync(ref.file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`${what}: cannot read secret file ${ref.file}`, error);
  }
  if (!value) throw new ConfigError(`${what}: secret file ${ref.file} is empty`);
  return value;
}
