import * as vscode from 'vscode';
import { parseSignInQuery } from '../../attendee';
import { reportError } from '../commands/runCommand';
import type { Services } from '../services';
import type { SignInFlow } from './signInFlow';

/**
 * Handles `vscode://openkitchen.open-kitchen/signin?api=…&invite=…`, the link in the invite mail.
 * VS Code (and code-server's /callback route) delivers it here after the attendee clicks it.
 */
export class SignInUriHandler implements vscode.UriHandler {
  constructor(
    private readonly services: Services,
    private readonly flow: SignInFlow,
  ) {}

  async handleUri(uri: vscode.Uri): Promise<void> {
    // Never log the query: it carries the invite token.
    this.services.log.info(`Opened by link: ${uri.scheme}://${uri.authority}${uri.path}`);
    try {
      await this.flow.run(parseSignInQuery(uri.path, uri.query));
    } catch (err) {
      await reportError(this.services.log, 'Sign-in from the invite link', err);
    }
  }
}
