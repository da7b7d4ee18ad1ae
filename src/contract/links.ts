/** The extension's identity and the sign-in link format, shared by the mailer and the URI handler. */
export const EXTENSION_PUBLISHER = 'openkitchen';
export const EXTENSION_NAME = 'open-kitchen';
export const EXTENSION_ID = `${EXTENSION_PUBLISHER}.${EXTENSION_NAME}`;

/** `vscode://openkitchen.open-kitchen/signin?api=<organizer API base URL>&invite=<token>` */
export function buildInviteLink(apiBaseUrl: string, inviteToken: string, scheme = 'vscode'): string {
  const q = new URLSearchParams({ api: apiBaseUrl, invite: inviteToken });
  return `${scheme}://${EXTENSION_ID}/signin?${q.toString()}`;
}
