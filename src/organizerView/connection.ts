/**
 * How an organizer connects the editor to the organizer API: the API URL (same policy as the
 * attendee's: https, or http only on loopback), the organizer token, and the workshop to manage.
 * The token is checked with a real call before anything is stored; the whole record is kept in
 * secret storage only, under one key.
 */
import { z } from 'zod';
import type { SecretStore } from '../attendee/secretStore';
import type { Workshop } from '../contract';
import { checkApiUrl, OrganizerApi, OrganizerApiError } from '../organizerClient';

export const ORGANIZER_SECRET_KEY = 'organizer';

export const OrganizerConnection = z.object({
  apiUrl: z.string(),
  token: z.string().min(1),
  workshop: z.string().min(1),
});
export type OrganizerConnection = z.infer<typeof OrganizerConnection>;

/** Reads the stored connection; a damaged record counts as none (and says so through `onProblem`). */
export async function loadOrganizerConnection(store: SecretStore, onProblem?: (m: string) => void): Promise<OrganizerConnection | undefined> {
  const raw = await store.get(ORGANIZER_SECRET_KEY);
  if (!raw) return undefined;
  try {
    return OrganizerConnection.parse(JSON.parse(raw));
  } catch (err) {
    onProblem?.(`The stored organizer connection is unreadable and was ignored: ${(err as Error).message}`);
    return undefined;
  }
}

export function saveOrganizerConnection(store: SecretStore, c: OrganizerConnection): Promise<void> {
  return store.store(ORGANIZER_SECRET_KEY, JSON.stringify(OrganizerConnection.parse(c)));
}

export function forgetOrganizerConnection(store: SecretStore): Promise<void> {
  return store.delete(ORGANIZER_SECRET_KEY);
}

/** Checks what the organizer typed as the token before it is sent anywhere. */
export function checkOrganizerToken(raw: string): string | undefined {
  const token = raw.trim();
  if (!token) return 'Paste the organizer token (the organizer service prints it at start, or reads it from its token file).';
  if (/\s/.test(token)) return 'The organizer token has no spaces; paste it without anything around it.';
  if (token.length < 16) return 'That is too short for an organizer token.';
  return undefined;
}

/**
 * `GET /v1/workshops` with the organizer token: proves the URL and the token in one call and
 * returns the workshops to choose from. Errors say which of the two is wrong.
 */
export async function listWorkshops(apiUrlInput: string, token: string): Promise<{ apiUrl: string; workshops: Workshop[] }> {
  const apiUrl = checkApiUrl(apiUrlInput);
  try {
    const { workshops } = await new OrganizerApi({ apiUrl, token }).listWorkshops();
    return { apiUrl, workshops };
  } catch (err) {
    if (!(err instanceof OrganizerApiError)) throw err;
    if (err.status === 401) throw new OrganizerApiError(`The organizer API at ${apiUrl} does not accept this organizer token.`, 401, 'unauthorized');
    if (err.status === 403) {
      throw new OrganizerApiError(`That is not the organizer token (the API at ${apiUrl} takes it for an attendee session). Use the token the organizer service was started with.`, 403, 'forbidden');
    }
    if (err.code === 'bad_response') {
      throw new OrganizerApiError(`${apiUrl} answered, but not like an Open Kitchen organizer API.`, err.status, 'bad_response');
    }
    throw err;
  }
}
