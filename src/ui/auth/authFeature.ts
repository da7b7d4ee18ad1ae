import * as vscode from 'vscode';
import { AuthProviderId, AuthProviderLabel, CommandId } from '../../views/ids';
import type { Feature, Services } from '../services';
import { OpenKitchenAuthenticationProvider } from './authProvider';
import { onSessionEnded } from './sessionEnded';
import { SignInFlow } from './signInFlow';
import { signInCommand } from './signInCommand';
import { signOut, signOutCommand } from './signOut';
import { SignInUriHandler } from './uriHandler';

/** Sign-in and sign-out: the authentication provider, the invite-link URI handler, the commands. */
export class AuthFeature implements Feature {
  constructor(private readonly services: Services) {}

  register(context: vscode.ExtensionContext): void {
    const { services } = this;
    const flow = new SignInFlow(services);
    const provider = new OpenKitchenAuthenticationProvider(
      services.session,
      () => flow.promptAndRun(),
      () => signOut(services, { confirm: false }),
    );
    context.subscriptions.push(
      provider,
      vscode.authentication.registerAuthenticationProvider(AuthProviderId, AuthProviderLabel, provider, {
        supportsMultipleAccounts: false,
      }),
      vscode.window.registerUriHandler(new SignInUriHandler(services, flow)),
      services.commands.register(CommandId.signIn, signInCommand(flow)),
      services.commands.register(CommandId.signOut, signOutCommand(services)),
      services.session.onDidEnd(onSessionEnded(services)),
    );
  }
}
