export { startZendeskEmulator } from './server';
export type {
  ScriptedAnswer,
  ZendeskEmulator,
  ZendeskEmulatorOptions,
  ZendeskRequestLogEntry,
} from './server';
export type { ZendeskObject, ZendeskRecord } from './store';
