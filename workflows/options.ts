import type { ActivityOptions } from '@temporalio/workflow';

/**
 * Error types that must not be retried. Kept as strings because workflow code may not import
 * connector classes; test/workflows/options.test.ts checks the list against connectors/errors.ts.
 */
export const FINAL_ERROR_TYPES = ['ConfigError', 'AuthError', 'BadInputError'];

/** Extraction streams whole files: long, heartbeating, resumable from the last saved line. */
export const EXTRACT_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '60 seconds',
  retry: {
    initialInterval: '2 seconds',
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: FINAL_ERROR_TYPES,
  },
};

/** Database-bound steps: unify, plan, run bookkeeping. */
export const STEP_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: FINAL_ERROR_TYPES,
  },
};

/**
 * One delivery window. The heartbeat timeout is short so a dead worker is noticed quickly and
 * the window resumes elsewhere at the batch in flight. 5xx and network errors back off
 * exponentially; a window that keeps failing ends the run rather than looping for ever.
 */
export const DELIVER_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 8,
    nonRetryableErrorTypes: FINAL_ERROR_TYPES,
  },
};

/** Delivery windows run per workflow execution before it continues as new (bounds history). */
export const WINDOWS_PER_EXECUTION = 100;

/** Runs a controller handles before it continues as new. */
export const RUNS_PER_CONTROLLER_EXECUTION = 50;
