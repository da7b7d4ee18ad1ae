/**
 * Parsing of sign-in requests: the `vscode://openkitchen.open-kitchen/signin?api=…&invite=…` link
 * from the invite mail, as clicked (URI handler) or pasted (Sign In command), in the forms the
 * link takes on its way to the attendee.
 */
import { EXTENSION_ID } from '../contract/links';
import { checkApiUrl } from '../organizerClient/apiUrlPolicy';
import { InviteLinkError } from './errors';

export interface SignInRequest {
  /** The organizer API base URL, already checked against the URL policy. */
  apiUrl: string;
  /** The invite token to redeem. */
  invite: string;
}

export const SIGN_IN_PATH = '/signin';

/** Invite tokens are URL-safe random strings; the contract bounds their length. */
const INVITE_TOKEN = /^[A-Za-z0-9_\-.~]{16,200}$/;

/**
 * Turns the path and query the URI handler receives into a sign-in request.
 * Throws `InviteLinkError` (or `ApiUrlPolicyError` for a refused API URL).
 */
export function parseSignInQuery(path: string, query: string): SignInRequest {
  const normalisedPath = path.replace(/\/+$/, '') || '/';
  if (normalisedPath !== SIGN_IN_PATH) {
    throw new InviteLinkError(`This Open Kitchen link points to "${path || '/'}", not to ${SIGN_IN_PATH}; it is not a sign-in link.`);
  }
  return fromParams(new URLSearchParams(query));
}

function fromParams(params: URLSearchParams): SignInRequest {
  const api = params.get('api')?.trim();
  const invite = params.get('invite')?.trim();
  const missing = [!api && 'api (the organizer address)', !invite && 'invite (your invite token)'].filter(Boolean);
  if (missing.length) {
    throw new InviteLinkError(
      `The invite link is incomplete: it has no ${missing.join(' and no ')}. Copy the whole link from your invite mail.`,
    );
  }
  if (!INVITE_TOKEN.test(invite!)) {
    throw new InviteLinkError('The invite token in the link is damaged (wrong length or characters). Copy the whole link from your invite mail.');
  }
  return { apiUrl: checkApiUrl(api!), invite: invite! };
}

export interface ParseInviteOptions {
  /** The `openKitchen.apiUrl` setting: lets an attendee paste just the invite token. */
  defaultApiUrl?: string;
}

/**
 * Parses what an attendee pastes into the Sign In box. Accepted:
 * - `vscode://openkitchen.open-kitchen/signin?api=…&invite=…` (also `vscode-insiders://`, `code-oss://`, …);
 * - a code-server / VS Code for the Web callback link (`https://…/callback?vscode-authority=…&vscode-path=/signin&vscode-query=…`);
 * - any https link that carries the same `api` and `invite` query;
 * - a bare invite token, when the organizer API URL setting is set.
 */
export function parseInviteLink(input: string, opts: ParseInviteOptions = {}): SignInRequest {
  // Mail clients wrap links in <…>, quote them, or leave HTML-escaped ampersands in plain text.
  const text = input.trim().replace(/^[<"']+|[>"']+$/g, '').replace(/&amp;/g, '&').trim();
  if (!text) throw new InviteLinkError('Paste the invite link from your invite mail.');

  if (!text.includes('://')) {
    if (INVITE_TOKEN.test(text)) {
      if (!opts.defaultApiUrl) {
        throw new InviteLinkError(
          'That looks like an invite token without its link. Paste the whole link from your invite mail, or set the organizer API URL setting (openKitchen.apiUrl) first.',
        );
      }
      return { apiUrl: checkApiUrl(opts.defaultApiUrl), invite: text };
    }
    throw new InviteLinkError('That is not an invite link. It should start with vscode:// or https:// and contain "signin".');
  }

  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InviteLinkError('That invite link is not a valid URL. Copy the whole link from your invite mail.');
  }

  if (url.protocol === 'http:' || url.protocol === 'https:') {
    const p = url.searchParams;
    // VS Code for the Web (code-server) delivers extension URIs through its /callback route.
    if (p.has('vscode-authority') || p.has('vscode-path')) {
      checkAuthority(p.get('vscode-authority') ?? '');
      return parseSignInQuery(p.get('vscode-path') ?? '', p.get('vscode-query') ?? '');
    }
    if (p.has('api') || p.has('invite')) return fromParams(p);
    throw new InviteLinkError('This web link carries no Open Kitchen invite (no api and invite in it). Copy the link from your invite mail.');
  }

  // Any editor's own scheme: vscode:, vscode-insiders:, code-oss:, vscodium:, …
  if (!/^[a-z][a-z0-9+.-]*:$/.test(url.protocol) || url.protocol === 'file:') {
    throw new InviteLinkError(`"${url.protocol}" links are not Open Kitchen invites.`);
  }
  checkAuthority(url.host);
  return parseSignInQuery(url.pathname, url.search);
}

function checkAuthority(authority: string): void {
  if (authority.toLowerCase() !== EXTENSION_ID) {
    throw new InviteLinkError(
      `This link is for ${authority ? `the extension "${authority}"` : 'no extension'}, not for Open Kitchen (${EXTENSION_ID}).`,
    );
  }
}
