export { syncWorkflow } from './sync';
export { syncControllerWorkflow } from './controller';
export { scheduledRunWorkflow } from './scheduled';
