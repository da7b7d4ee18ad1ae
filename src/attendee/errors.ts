/** Errors of the attendee side, each with a message an attendee can act on (the organizer API's own are in src/organizerClient). */

/** The pasted or clicked invite link cannot be used; the message says what is wrong with it. */
export class InviteLinkError extends Error {
  override name = 'InviteLinkError';
}

/** There is no stored session; the caller needs to sign in first. */
export class NotSignedInError extends Error {
  override name = 'NotSignedInError';
  constructor(message = 'You are not signed in to Open Kitchen.') {
    super(message);
  }
}
