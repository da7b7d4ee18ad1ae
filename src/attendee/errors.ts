/** Errors of the attendee side, each with a message an attendee can act on. */

/** The pasted or clicked invite link cannot be used; the message says what is wrong with it. */
export class InviteLinkError extends Error {
  override name = 'InviteLinkError';
}

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
export class MalformedResponseError extends Error {
  override name = 'MalformedResponseError';
  constructor(
    message: string,
    readonly route: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(message);
  }
}

/** The API could not be reached at all (DNS, refused connection, TLS failure, timeout). */
export class ApiUnreachableError extends Error {
  override name = 'ApiUnreachableError';
}

/** There is no stored session; the caller needs to sign in first. */
export class NotSignedInError extends Error {
  override name = 'NotSignedInError';
  constructor(message = 'You are not signed in to Open Kitchen.') {
    super(message);
  }
}
