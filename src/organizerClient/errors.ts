/** Errors of the organizer API client, each with a message an attendee or organizer can act on. */

/** The organizer API URL breaks the URL policy (e.g. plain http to a non-loopback host). */
export class ApiUrlPolicyError extends Error {
  override name = 'ApiUrlPolicyError';
}

/** The organizer API answered with an error body (`{ error: { code, message } }`) or a bare HTTP error. */
export class OrganizerApiError extends Error {
  override name = 'OrganizerApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly details?: { path: string; message: string }[],
  ) {
    super(message);
  }
}

/** The API said 401 on an attendee route: the session token is unknown, revoked or expired. */
export class SessionExpiredError extends OrganizerApiError {
  override name = 'SessionExpiredError';
  /** @param reason why, in the API's or our words (e.g. "Unknown token; sign in again…"). */
  constructor(readonly reason = 'it is no longer valid') {
    super(`Your Open Kitchen session has ended: ${reason.replace(/\.$/, '')}.`, 401, 'unauthorized');
  }
}

/** The API answered 2xx but the body does not match the contract; the message names the field. */
export class MalformedResponseError extends OrganizerApiError {
  override name = 'MalformedResponseError';
  constructor(
    message: string,
    readonly route: string,
    readonly issues: { path: string; message: string }[],
    status = 200,
  ) {
    super(message, status, 'bad_response');
  }
}

/** The API could not be reached at all (DNS, refused connection, TLS failure, timeout). */
export class ApiUnreachableError extends OrganizerApiError {
  override name = 'ApiUnreachableError';
  constructor(message: string) {
    super(message, 0, 'unreachable');
  }
}
