export { startBrazeEmulator } from './server';
export type {
  BrazeEmulator,
  BrazeEmulatorOptions,
  BrazeEmulatorStats,
  BrazeRequestLogEntry,
} from './server';
export type { Profile } from './store';
