export { restDateTime, startSalesforceEmulator } from './server';
export type {
  FailureSpec,
  RequestLogEntry,
  SalesforceEmulator,
  SalesforceEmulatorOptions,
  SalesforceUser,
} from './server';
export { ACCOUNT_FIELDS, type ObjectSeed } from './seed';
export type { FieldSpec, SalesforceFieldType } from './store';
export { PRESET_FAILURES, type PresetFailure } from './api-error';
