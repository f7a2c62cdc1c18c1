// Where mail goes: SMTP (nodemailer) when SMTP_URL is set; otherwise .eml files in DATA_DIR/mail,
// so that the default set-up works offline and every mail can be opened in a mail client.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';

export interface MailTransport {
  /** Hands the message over; resolves once the server accepted it (or the file is written). */
  send(message: Mail.Options & { fileName: string }): Promise<string>;
  close(): void;
}

export function createMailTransport(opts: { smtpUrl?: string; mailDir: string }): MailTransport {
  if (opts.smtpUrl) {
    const smtp = nodemailer.createTransport(opts.smtpUrl, {
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
      socketTimeout: 30_000,
    } as object);
    const where = new URL(opts.smtpUrl).host;
    return {
      async send({ fileName: _f, ...message }) {
        const info = await smtp.sendMail(message);
        return `SMTP ${where} (${String(info.response).slice(0, 80)})`;
      },
      close: () => smtp.close(),
    };
  }
  const files = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send({ fileName, ...message }) {
      const info = await files.sendMail(message);
      await mkdir(opts.mailDir, { recursive: true });
      const path = join(opts.mailDir, fileName);
      await writeFile(path, info.message as Buffer);
      return path;
    },
    close: () => files.close(),
  };
}
