/** An error the emulator answers with Salesforce's body shape `[{ message, errorCode }]`. */
export class SalesforceApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }

  body(): Array<{ message: string; errorCode: string }> {
    return [{ message: this.message, errorCode: this.errorCode }];
  }
}

/** Ready-made failures for `failNext`, with the status and text Salesforce uses. */
export const PRESET_FAILURES = {
  INVALID_SESSION_ID: { status: 401, message: 'Session expired or invalid' },
  REQUEST_LIMIT_EXCEEDED: { status: 403, message: 'TotalRequests Limit exceeded.' },
  SERVER_UNAVAILABLE: { status: 503, message: 'Server temporarily unavailable' },
  UNKNOWN_EXCEPTION: { status: 500, message: 'An unexpected error occurred.' },
} as const;
export type PresetFailure = keyof typeof PRESET_FAILURES;
