export { ZendeskReader, type ZendeskReaderOptions } from './reader';
export { describeZendesk } from './describe';
export type {
  Sleep,
  ZendeskAuth,
  ZendeskConnection,
  ZendeskLogger,
  ZendeskObject,
  ZendeskRuntime,
} from './types';
export { ZENDESK_OBJECTS } from './types';
