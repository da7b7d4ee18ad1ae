/**
 * Invite mail: one message per attendee with the sign-in link and plain instructions.
 * Sent over SMTP when a host is configured (OPEN_KITCHEN_SMTP_*); otherwise written as `.eml`
 * files to an outbox folder the organizer can inspect or send with any mail client.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';

export interface SmtpSettings {
  host: string;
  port: number;
  /** Implicit TLS (port 465). Otherwise STARTTLS is used when the server offers it. */
  secure?: boolean;
  /** Refuse to send unless STARTTLS succeeds. */
  requireTls?: boolean;
  /** Accept self-signed certificates (a local relay). */
  allowInvalidCert?: boolean;
  user?: string;
  pass?: string;
  /** How long to wait for the server to answer (default 30 s). */
  timeoutMs?: number;
}

export interface MailSettings {
  from: string;
  smtp?: SmtpSettings;
  /** Folder for `.eml` files when no SMTP host is set. */
  outboxDir: string;
  /** Where attendees get the extension (.vsix); mentioned in the mail. */
  vsixUrl?: string;
}

export interface InviteMail {
  to: string;
  name: string;
  workshopTitle: string;
  link: string;
  expiresAt: string;
}

export interface SentMail {
  to: string;
  messageId: string;
  /** `smtp` or the `.eml` file written. */
  via: 'smtp' | 'outbox';
  file?: string;
}

const truthy = (v: string | undefined) => v === '1' || v === 'true' || v === 'yes';

/**
 * Reads SMTP settings from the environment: OPEN_KITCHEN_SMTP_HOST, _PORT (default 587, or 465
 * with _SECURE), _SECURE, _REQUIRE_TLS, _ALLOW_INVALID_CERT, _USER, _PASS. Returns undefined
 * without a host (mail then goes to the outbox folder).
 */
export function smtpFromEnv(env: NodeJS.ProcessEnv): SmtpSettings | undefined {
  const host = env.OPEN_KITCHEN_SMTP_HOST;
  if (!host) return undefined;
  const secure = truthy(env.OPEN_KITCHEN_SMTP_SECURE);
  const port = Number(env.OPEN_KITCHEN_SMTP_PORT || (secure ? 465 : 587));
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`OPEN_KITCHEN_SMTP_PORT must be a port number, not "${env.OPEN_KITCHEN_SMTP_PORT}"`);
  }
  const user = env.OPEN_KITCHEN_SMTP_USER || undefined;
  if (env.OPEN_KITCHEN_SMTP_PASS && !user) {
    throw new Error('OPEN_KITCHEN_SMTP_PASS is set but OPEN_KITCHEN_SMTP_USER is not; set both to sign in to the SMTP server');
  }
  return {
    host,
    port,
    secure,
    requireTls: truthy(env.OPEN_KITCHEN_SMTP_REQUIRE_TLS),
    allowInvalidCert: truthy(env.OPEN_KITCHEN_SMTP_ALLOW_INVALID_CERT),
    user,
    pass: env.OPEN_KITCHEN_SMTP_PASS || undefined,
  };
}

export function inviteText(m: InviteMail, vsixUrl?: string): { subject: string; text: string } {
  const subject = `Your environment for ${m.workshopTitle}`;
  const text = [
    `Hello ${m.name},`,
    '',
    `your own Nomad and Consul environment for "${m.workshopTitle}" is waiting for you.`,
    '',
    '1. Install Visual Studio Code if you do not have it.',
    vsixUrl
      ? `2. Install the Open Kitchen extension: download ${vsixUrl} and run "Extensions: Install from VSIX..." in VS Code.`
      : '2. Install the Open Kitchen extension: open the .vsix file you were given with "Extensions: Install from VSIX..." in VS Code.',
    '3. Click this link; VS Code opens and signs you in:',
    '',
    `   ${m.link}`,
    '',
    'If clicking the link does nothing, copy it, run "Open Kitchen: Sign In" from the command palette in VS Code and paste it there.',
    '',
    `The link works once and until ${m.expiresAt}. If it has expired or was used already, ask the organizer to send a new one.`,
    '',
    'See you at the workshop!',
  ].join('\n');
  return { subject, text };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The same text as HTML, with the link clickable in mail clients that open vscode:// links. */
function inviteHtml(text: string, link: string): string {
  const body = text
    .split('\n\n')
    .map((para) => {
      const trimmed = para.trim();
      if (trimmed === link) return `<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>`;
      return `<p>${escapeHtml(para).replace(/\n/g, '<br>')}</p>`;
    })
    .join('\n');
  return `<!doctype html>\n<html><body>\n${body}\n</body></html>\n`;
}

/** An SMTP or transport failure as one sentence that names the server. */
function smtpError(s: SmtpSettings, to: string, err: Error & { code?: string; response?: string; responseCode?: number }): Error {
  const where = `${s.host}:${s.port}`;
  // nodemailer reports socket failures as ESOCKET with the system error in the message.
  const sys = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET)\b/.exec(err.message)?.[1];
  let why: string;
  switch (sys ?? err.code) {
    case 'EAUTH':
      why = `the server refused the sign-in as "${s.user ?? ''}" (${(err.response ?? err.message).trim()}); check OPEN_KITCHEN_SMTP_USER and OPEN_KITCHEN_SMTP_PASS`;
      break;
    case 'ECONNREFUSED':
      why = 'nothing accepts connections there (connection refused); check OPEN_KITCHEN_SMTP_HOST and OPEN_KITCHEN_SMTP_PORT';
      break;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      why = 'the host cannot be reached from here (no route)';
      break;
    case 'EDNS':
    case 'EAI_AGAIN':
    case 'ENOTFOUND':
      why = `the host name "${s.host}" does not resolve; check OPEN_KITCHEN_SMTP_HOST`;
      break;
    case 'ETIMEDOUT':
      why = 'the server did not answer in time';
      break;
    case 'ETLS':
    case 'ESOCKET':
      why = `the connection failed: ${err.message}`;
      break;
    default:
      why = err.response ? `the server answered: ${err.response.trim()}` : err.message;
  }
  return Object.assign(new Error(`Could not send the invite to ${to} through the SMTP server ${where}: ${why}`), {
    code: err.code,
    responseCode: err.responseCode,
  });
}

/** SMTP connections the mailer keeps open at most, so also the invites it sends at once. */
const SMTP_CONNECTIONS = 2;

export class Mailer {
  private readonly transport: Transporter;
  private readonly via: 'smtp' | 'outbox';

  constructor(private readonly settings: MailSettings) {
    if (!settings.from) throw new Error('The invite mail needs a sender address (from)');
    if (settings.smtp) {
      const s = settings.smtp;
      this.via = 'smtp';
      const timeout = s.timeoutMs ?? 30_000;
      this.transport = nodemailer.createTransport({
        host: s.host,
        port: s.port,
        secure: !!s.secure,
        requireTLS: !!s.requireTls,
        auth: s.user ? { user: s.user, pass: s.pass ?? '' } : undefined,
        tls: s.allowInvalidCert ? { rejectUnauthorized: false } : undefined,
        // A few connections reused for a whole room's invites instead of one per message.
        pool: true,
        maxConnections: SMTP_CONNECTIONS,
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
      });
    } else {
      this.via = 'outbox';
      // streamTransport builds the full RFC 5322 message (CRLF line ends); it is written as-is to a .eml file.
      this.transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
    }
  }

  /** The folder `.eml` files go to, or null when mail goes over SMTP. */
  get outboxDir(): string | null {
    return this.via === 'outbox' ? this.settings.outboxDir : null;
  }

  get mode(): 'smtp' | 'outbox' {
    return this.via;
  }

  /**
   * How many invites to send at once: one per pooled SMTP connection (a slow server's round
   * trips overlap), one at a time into the outbox (a local write; the files list in order).
   */
  get concurrency(): number {
    return this.via === 'smtp' ? SMTP_CONNECTIONS : 1;
  }

  async sendInvite(m: InviteMail): Promise<SentMail> {
    const { subject, text } = inviteText(m, this.settings.vsixUrl);
    let info: { messageId: string; message?: Buffer };
    try {
      info = (await this.transport.sendMail({
        from: this.settings.from,
        to: { name: m.name, address: m.to },
        subject,
        text,
        html: inviteHtml(text, m.link),
      })) as { messageId: string; message?: Buffer };
    } catch (err) {
      if (this.settings.smtp) throw smtpError(this.settings.smtp, m.to, err as Error);
      throw err;
    }
    if (this.via === 'smtp') return { to: m.to, messageId: info.messageId, via: 'smtp' };
    fs.mkdirSync(this.settings.outboxDir, { recursive: true, mode: 0o700 });
    const safe = m.to.replace(/[^A-Za-z0-9@._-]/g, '_');
    // Time first so the folder lists in sending order; the random part keeps resends apart.
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const file = path.join(this.settings.outboxDir, `${stamp}-${safe}-${crypto.randomBytes(3).toString('hex')}.eml`);
    // The link signs the attendee in: readable by the organizer only.
    fs.writeFileSync(file, info.message ?? Buffer.alloc(0), { mode: 0o600, flag: 'wx' });
    return { to: m.to, messageId: info.messageId, via: 'outbox', file };
  }

  close(): void {
    this.transport.close();
  }
}
