import * as path from 'node:path';
import * as vscode from 'vscode';
import { buildImportReport, parseRosterCsv, type ImportReport } from '../../organizerClient';
import { formatImportMessage } from '../../views';
import { UserCancelledError } from '../commands/runCommand';
import type { Services } from '../services';
import type { OrganizerSession } from './organizerSession';

/**
 * Open Kitchen: Import Roster. Picks a CSV (email, name, optional team), checks it here, sends the
 * good rows, and reports every row that was not imported with its line in the file: plainly
 * wrong rows caught here, duplicates caught by the server.
 */
export function importRosterCommand(services: Services, organizer: OrganizerSession) {
  return async (file: unknown): Promise<ImportReport> => {
    const { client, model, connection } = organizer.require();
    const uri =
      file instanceof vscode.Uri
        ? file
        : (
            await vscode.window.showOpenDialog({
              title: `Import Roster into "${connection.workshop}"`,
              openLabel: 'Import Roster',
              canSelectMany: false,
              filters: { 'Roster (CSV)': ['csv'], 'All files': ['*'] },
              defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
            })
          )?.[0];
    if (!uri) throw new UserCancelledError();
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    const parsed = parseRosterCsv(text);
    const response = parsed.rows.length ? await client.importAttendees(connection.workshop, parsed.rows.map((r) => r.input)) : null;
    const report = buildImportReport(parsed, response);
    const shown = formatImportMessage(path.basename(uri.path), report);
    services.log.info(`Import Roster (${uri.toString(true)}): ${shown.message}${shown.detail ? `\n${shown.detail}` : ''}`);
    if (report.imported.length) void model.reload();
    if (report.rejected.length) await vscode.window.showWarningMessage(shown.message, { modal: true, detail: shown.detail });
    else void vscode.window.showInformationMessage(shown.message);
    return report;
  };
}
