import type { Command } from 'commander';
import { dedupeCommands } from './dedupe';
import { scoreCommands } from './score';
import { sourceCommands } from './source';
import { webhookCommands } from './webhook';

/**
 * Each command group registers its subcommands on the `braid` program. Groups live in their own
 * modules so the CLI entry point stays a list, not a file every feature edits.
 */
export type CommandGroup = (program: Command) => void;

export const COMMAND_GROUPS: CommandGroup[] = [
  dedupeCommands,
  scoreCommands,
  sourceCommands,
  webhookCommands,
];
