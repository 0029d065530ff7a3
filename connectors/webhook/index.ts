export {
  checkAuth,
  signBody,
  MAX_TIMESTAMP_SKEW_MS,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
} from './auth';
export { startWebhookServer, type WebhookServer, type WebhookServerOptions } from './server';
export type { OnStaged, ResolveMaster, WebhookLogger } from './types';
