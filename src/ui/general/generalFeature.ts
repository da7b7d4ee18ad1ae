import type * as vscode from 'vscode';
import { CommandId } from '../../views/ids';
import type { Feature, Services } from '../services';
import { openSettingsCommand } from './openSettingsCommand';
import { showLogCommand } from './showLogCommand';

/** Commands that belong to no view: the log and the settings. */
export class GeneralFeature implements Feature {
  constructor(private readonly services: Services) {}

  register(context: vscode.ExtensionContext): void {
    context.subscriptions.push(
      this.services.commands.register(CommandId.showLog, showLogCommand(this.services.log)),
      this.services.commands.register(CommandId.openSettings, openSettingsCommand()),
    );
  }
}
