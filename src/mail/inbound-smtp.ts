// The inbound SMTP listener: the organisation's mail server (MTA) delivers support mail here, and
// each message goes to receiveMail (src/services/mail/inbound.ts).
//
// It sits behind that MTA, on loopback by default (INBOUND_SMTP_HOST=127.0.0.1): the MTA does the
// public side — TLS, spam and virus filtering, sender checks — so this listener offers neither
// AUTH nor STARTTLS. Do not expose it to the internet: anyone who can connect can hand it mail.
//
// Replies, so that the MTA does the right thing with each message:
//   250  taken (recorded, whatever became of it: reply, new ticket, quarantine, ignored)
//   552  larger than INBOUND_MAX_BYTES, or its files past the attachment limits (ATTACHMENT_MAX_*)
//        (permanent: the sender gets a bounce saying so)
//   554  not readable as a message at all, or not within the decoder's time and memory limits
//        (permanent). A message without a usable From address (a bounce from "MAILER-DAEMON <>",
//        "<>", none at all) is taken (250) and recorded as IGNORED: refusing it would only make
//        the sending server bounce a bounce.
//   451  anything failed while taking it (database down…), or every decoder is busy and many
//        messages wait (a real overload, not one slow message): the MTA keeps it and tries again;
//        nothing was written, and a redelivery that did get through once is recognised.
// No error in one message ends the listener.
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Config } from '../config/env.js';
import type { Database } from '../db/client.js';
import { MailTooLargeError, receiveMail } from '../services/mail/inbound.js';
import type { MessageIds } from './message-id.js';
import { countInboundMail } from '../observability/metrics.js';
import { decodeMessage, DecodeError, stopMailWorkers, toParsedInbound, type DecodedMail } from './parse.js';
import { logError, logInfo } from '../log.js';

export interface InboundSmtp {
  /** The port it listens on (the real one when INBOUND_SMTP_PORT is 0). */
  port: number;
  stop(): Promise<void>;
}

export interface InboundSmtpDeps {
  db: Database;
  ids: MessageIds;
  config: Pick<Config, 'INBOUND_SMTP_PORT' | 'INBOUND_SMTP_HOST' | 'INBOUND_MAX_BYTES' | 'INBOUND_MAX_NEW_PER_HOUR' | 'MAIL_FROM'> &
    Partial<Pick<Config, 'MAIL_TRUSTED_AUTHSERV_ID' | 'MAIL_REQUIRE_AUTHENTICATION' | 'MAIL_ACK_MAX_PER_ADDRESS' | 'MAIL_ACK_MAX_PER_DOMAIN'>>;
}

/** An error for smtp-server's onData callback: the reply code and text the client gets. */
function refusal(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

function describeSession(session: SMTPServerSession): string {
  // The sender's domain only: addresses are personal data and stay out of the logs.
  const address = session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined;
  const from = address === undefined ? '?' : address ? `…@${address.split('@').pop()}` : '<>';
  return `from ${session.remoteAddress} (MAIL FROM ${from})`;
}

export async function startInboundSmtp({ db, ids, config }: InboundSmtpDeps): Promise<InboundSmtp> {
  const maxBytes = config.INBOUND_MAX_BYTES;

  async function take(raw: Buffer, session: SMTPServerSession): Promise<string> {
    let parsed: DecodedMail;
    try {
      // In a worker thread (src/mail/parse.ts): decoding costs what the sender wants it to.
      parsed = await decodeMessage(raw);
    } catch (err) {
      if (err instanceof DecodeError && err.temporary) {
        // Truly overloaded (every decoder busy and a long queue): the MTA keeps it and retries.
        countInboundMail('failed');
        logError(`[inbound] too busy to read a message ${describeSession(session)}: ${err.message}`);
        throw refusal(451, '4.3.2 Too busy to take the message now; try again later');
      }
      countInboundMail('refused');
      logError(`[inbound] unreadable message ${describeSession(session)}: ${(err as Error).message}`);
      throw refusal(554, '5.6.0 Message refused: it could not be read as an email message within our limits');
    }
    const envelopeSender = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    // Without a usable From address it is still taken, and recorded as automatic mail (IGNORED).
    const msg = { ...toParsedInbound(parsed, envelopeSender), recipients: session.envelope.rcptTo.slice(0, 50).map((r) => r.address.toLowerCase()) };
    try {
      const { mail, redelivered } = await receiveMail(db.prisma, ids, msg, {
        ownAddress: config.MAIL_FROM,
        maxNewPerHour: config.INBOUND_MAX_NEW_PER_HOUR,
        trustedAuthservIds: config.MAIL_TRUSTED_AUTHSERV_ID ?? [],
        requireAuthentication: config.MAIL_REQUIRE_AUTHENTICATION ?? false,
        ackMaxPerAddress: config.MAIL_ACK_MAX_PER_ADDRESS,
        ackMaxPerDomain: config.MAIL_ACK_MAX_PER_DOMAIN,
      });
      countInboundMail(redelivered ? 'redelivered' : mail.state);
      const what = redelivered ? `already received as #${mail.id}` : `#${mail.id} ${mail.state}`;
      // Who sent it and why it was held is on the Mail page (/mail), not in the log (addresses).
      logInfo(`[inbound] ${msg.messageId ?? '(no Message-ID)'} ${describeSession(session)}: ${what}`);
      return `2.0.0 Accepted as #${mail.id}`;
    } catch (err) {
      // Files past the attachment limits: permanent, like a message past INBOUND_MAX_BYTES.
      countInboundMail(err instanceof MailTooLargeError ? 'refused' : 'failed');
      if (err instanceof MailTooLargeError) {
        logError(`[inbound] refused ${msg.messageId ?? '(no Message-ID)'} ${describeSession(session)}: ${err.message}`);
        throw refusal(552, `5.3.4 Message refused: ${err.message.replace(/[\r\n]+/g, ' ').slice(0, 300)}`);
      }
      logError(`[inbound] could not take ${msg.messageId ?? '(no Message-ID)'} ${describeSession(session)}; the sender will retry:`, err);
      throw refusal(451, '4.3.0 Temporary failure while storing the message; try again later');
    }
  }

  function onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void) {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let answered = false;
    const answer = (err: Error | null, message?: string) => {
      if (answered) return;
      answered = true;
      callback(err, message);
    };
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      // Past the limit the rest is read and dropped (the client is answered at the end).
      if (bytes <= maxBytes) chunks.push(chunk);
    });
    stream.on('error', (err) => {
      logError(`[inbound] receiving failed ${describeSession(session)}: ${err.message}`);
      answer(refusal(451, '4.3.0 Temporary failure while receiving the message; try again later'));
    });
    stream.on('end', () => {
      if (stream.sizeExceeded || bytes > maxBytes) {
        countInboundMail('refused');
        logError(`[inbound] refused a message of ${bytes} bytes ${describeSession(session)} (limit ${maxBytes})`);
        answer(refusal(552, `5.3.4 Message too big: Caseboard accepts at most ${maxBytes} bytes`));
        return;
      }
      take(Buffer.concat(chunks), session).then(
        (message) => answer(null, message),
        (err: unknown) => {
          const e = err as { responseCode?: number };
          if (typeof e?.responseCode === 'number') return answer(err as Error);
          logError(`[inbound] unexpected failure ${describeSession(session)}:`, err);
          answer(refusal(451, '4.3.0 Temporary failure; try again later'));
        },
      );
    });
  }

  const server = new SMTPServer({
    name: 'caseboard',
    banner: 'Caseboard inbound mail',
    // Behind the organisation's MTA on loopback: no AUTH, no STARTTLS (see the top of this file).
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    size: maxBytes,
    disableReverseLookup: true,
    logger: false,
    maxClients: 50,
    socketTimeout: 60_000,
    closeTimeout: 5_000,
    onData,
  });
  // Socket errors of one client (resets, timeouts) are reported here; they must not end the process.
  server.on('error', (err: Error) => logError('[inbound] connection error:', err.message));

  const port = await new Promise<number>((resolve, reject) => {
    const net = server.server;
    const failed = (err: Error) => reject(err);
    net.once('error', failed);
    server.listen(config.INBOUND_SMTP_PORT ?? 0, config.INBOUND_SMTP_HOST, () => {
      net.off('error', failed);
      resolve((net.address() as AddressInfo).port);
    });
  });

  let stopped: Promise<void> | undefined;
  return {
    port,
    stop() {
      stopped ??= new Promise<void>((resolve) => server.close(() => resolve())).then(() => stopMailWorkers());
      return stopped;
    },
  };
}
