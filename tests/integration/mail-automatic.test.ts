// Automatic mail over real SMTP (issue 10, "Automatic mail that became tickets" and "Bounces
// refused instead of recorded"): hand-written fixture messages, each standing for a real-world
// case, sent to the inbound listener. Every automatic one must be recorded as IGNORED with a
// reason, open no ticket and queue no mail; the ordinary ones next to them must still open a
// ticket (and get the "request received" mail). The rules are in src/mail/automatic.ts.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { countRows, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startTestInbound } from '../helpers/inbound.js';
import type { InboundSmtp } from '../../src/mail/inbound-smtp.js';

const SUPPORT = 'support@caseboard.test';

let db: TestDatabase;
let smtp: InboundSmtp;

beforeAll(async () => {
  db = await createTestDatabase();
  smtp = await startTestInbound(db);
});
afterAll(async () => {
  await smtp?.stop();
  await db?.close();
});

let counter = 0;
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`;
/** An RFC 2047 encoded word (non-ASCII subjects as real clients send them). */
const word = (text: string) => `=?UTF-8?B?${Buffer.from(text).toString('base64')}?=`;

/** A hand-written message: header lines (From, Subject, … as given), then the body. */
function message(headers: string[], body: string[] | string): string {
  const lines = [
    ...headers,
    `To: ${SUPPORT}`,
    `Message-ID: <${unique()}@fixture.test>`,
    'Date: Thu, 03 Dec 2026 09:15:00 +0100',
    'MIME-Version: 1.0',
    ...(headers.some((h) => /^content-type:/i.test(h)) ? [] : ['Content-Type: text/plain; charset=utf-8']),
    '',
    ...(Array.isArray(body) ? body : [body]),
    '',
  ];
  return lines.join('\r\n');
}

/** Hands one raw message to the listener as an MTA would, with this MAIL FROM ('' = null sender). */
async function deliver(raw: string, mailFrom: string) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtp.port, secure: false, ignoreTLS: true });
  try {
    return await transport.sendMail({ envelope: { from: mailFrom, to: [SUPPORT] }, raw });
  } finally {
    transport.close();
  }
}

async function changesDuring(run: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await countRows(db);
  await run();
  const after = await countRows(db);
  return Object.fromEntries(Object.keys(after).filter((t) => after[t] !== before[t]).map((t) => [t, after[t]! - before[t]!]));
}

const latest = async () => (await db.prisma.inboundMail.findMany({ orderBy: { id: 'desc' }, take: 1 }))[0]!;

/** Sends it and expects: one InboundMail row, IGNORED, with this reason; no ticket, no outbound mail. */
async function expectIgnored(raw: string, mailFrom: string, reason: RegExp) {
  const changed = await changesDuring(() => deliver(raw, mailFrom));
  const mail = await latest();
  expect({ state: mail.state, reason: mail.reason }).toMatchObject({ state: 'IGNORED', reason: expect.stringMatching(reason) });
  expect(changed).toEqual({ InboundMail: 1 });
  expect(mail).toMatchObject({ ticketId: null, matchedTicketId: null });
  return mail;
}

/** Sends it and expects a new ticket and its "request received" mail. */
async function expectTicket(raw: string, mailFrom: string) {
  const changed = await changesDuring(() => deliver(raw, mailFrom));
  const mail = await latest();
  expect({ state: mail.state, reason: mail.reason }).toEqual({ state: 'NEW_TICKET', reason: null });
  expect(changed).toMatchObject({ InboundMail: 1, Ticket: 1, OutboundMail: 1 });
  return mail;
}

const person = () => `jane.${unique()}@customer.test`;

describe('bounces known only by their sender', () => {
  const cases: [string, string, RegExp][] = [
    ['an invoice notification from a SaaS no-reply address', `"Acme Billing" <no-reply@billing.acme.test>`, /no-reply address/],
    ['a shop notification from noreply@', `Shop <noreply@shop.example.test>`, /no-reply address/],
    ['a bank alert from do-not-reply@', `Bank <do-not-reply@alerts.bank.test>`, /no-reply address/],
    ['a service sending from donotreply+tag@', `<donotreply+a1b2@svc.example.test>`, /no-reply address/],
    ['GitHub-style notifications-noreply@', `Notifier <notifications.noreply@hub.example.test>`, /no-reply address/],
    ['a German service sending from nicht-antworten@', `Amt <nicht-antworten@amt.example.test>`, /no-reply address/],
    ['a bounce from postmaster@ of a partner MTA', `Postmaster <postmaster@mx.partner.test>`, /Bounce: sent by postmaster@mx\.partner\.test/],
    ['a bounce from Mailer-Daemon@ in mixed case (Sendmail)', `Mail Delivery Subsystem <Mailer-Daemon@mx.partner.test>`, /Bounce: sent by mailer-daemon@/],
    ['a bounce from MAILER-DAEMON@ in upper case (Postfix)', `MAILER-DAEMON@MX2.PARTNER.TEST`, /Bounce: sent by mailer-daemon@mx2\.partner\.test/],
    ['an Exchange NDR from its MicrosoftExchange<hex> system mailbox', `Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@partner.test>`, /Exchange's system mailbox/],
    ['a bounce from bounces@ of an ESP', `<bounces@esp.example.test>`, /Bounce: sent by bounces@/],
  ];
  for (const [what, from, reason] of cases) {
    it(`${what} is IGNORED`, async () => {
      // A non-null envelope sender (many such mails have one) and an ordinary-looking subject and text.
      await expectIgnored(message([`From: ${from}`, 'Subject: Your message'], 'Please see the details below.'), `return-${unique()}@esp.example.test`, reason);
    });
  }
});

describe('bounces known only by their text', () => {
  it('a Postfix bounce relayed with a rewritten sender and plain text (the opening sentence)', async () => {
    await expectIgnored(
      message(['From: Mail System <mail@mx3.partner.test>', 'Subject: Message status'], [
        'This is the mail system at host mx3.partner.test.',
        '',
        "I'm sorry to have to inform you that your message could not",
        'be delivered to one or more recipients.',
      ]),
      'mail@mx3.partner.test',
      /delivery report \(the text of a mail server's bounce\)/,
    );
  });

  it('an Exchange NDR flattened to text by a gateway ("Delivery has failed to these recipients or groups")', async () => {
    await expectIgnored(
      message(['From: Gateway <gw@partner.test>', 'Subject: Notification'], ['Delivery has failed to these recipients or groups:', '', 'bob@partner.test']),
      'gw@partner.test',
      /delivery report/,
    );
  });

  it('a gateway that pastes RFC 3464 delivery-status fields into a text/plain mail', async () => {
    await expectIgnored(
      message(['From: Relay <relay@gw.partner.test>', 'Subject: Notice'], [
        'Reporting-MTA: dns; gw.partner.test',
        'Final-Recipient: rfc822; bob@partner.test',
        'Action: failed',
        'Status: 5.1.1',
      ]),
      'relay@gw.partner.test',
      /delivery-status fields/,
    );
  });

  it('a bounce known by its subject only ("Undeliverable:" from Exchange via a relay)', async () => {
    await expectIgnored(
      message(['From: Relay <relay@gw2.partner.test>', 'Subject: Undeliverable: Your request'], 'It did not arrive.'),
      'relay@gw2.partner.test',
      /Bounce \(a bounce subject/,
    );
  });

  it('an Exim bounce known by X-Failed-Recipients', async () => {
    await expectIgnored(
      message(['From: Exim <exim@mx4.partner.test>', 'Subject: Problem with your message', 'X-Failed-Recipients: bob@partner.test'], 'Sorry.'),
      'exim@mx4.partner.test',
      /X-Failed-Recipients/,
    );
  });
});

describe('abuse and feedback reports (ARF)', () => {
  it('an ISP feedback-loop report (multipart/report; report-type=feedback-report)', async () => {
    const mail = await expectIgnored(
      message(['From: Feedback Loop <fbl@isp.example.test>', 'Subject: Complaint about message from 192.0.2.1', 'Content-Type: multipart/report; report-type=feedback-report; boundary="arf"'], [
        '--arf',
        'Content-Type: text/plain',
        '',
        'This is an email abuse report for an email message received from IP 192.0.2.1.',
        '--arf',
        'Content-Type: message/feedback-report',
        '',
        'Feedback-Type: abuse',
        'User-Agent: SomeGenerator/1.0',
        'Version: 1',
        '--arf--',
      ]),
      'fbl@isp.example.test',
      /ARF/,
    );
    expect(mail.reason).toContain('report-type=feedback-report');
  });

  it('a feedback report wrapped in multipart/mixed (a message/feedback-report part)', async () => {
    await expectIgnored(
      message(['From: Abuse Desk <abuse-reports@isp2.example.test>', 'Subject: Abuse report', 'Content-Type: multipart/mixed; boundary="w"'], [
        '--w',
        'Content-Type: text/plain',
        '',
        'We received a complaint.',
        '--w',
        'Content-Type: message/feedback-report',
        '',
        'Feedback-Type: abuse',
        'Version: 1',
        '--w--',
      ]),
      'abuse-reports@isp2.example.test',
      /feedback report \(a message\/feedback-report part\)/,
    );
  });
});

describe('mailing-list manager errors', () => {
  it('Mailman "awaits moderator approval" from the list\'s -bounces@ address', async () => {
    await expectIgnored(
      message(['From: support-bounces@lists.partner.test', 'Subject: Your message to Support awaits moderator approval', 'X-Mailman-Version: 2.1.39'], 'Your mail is being held until the list moderator can review it.'),
      'support-bounces@lists.partner.test',
      /mailing-list manager/,
    );
  });

  it('Mailman "uncaught bounce notification" from the list\'s -owner@ address', async () => {
    await expectIgnored(
      message(['From: announce-owner@lists.partner.test', 'Subject: Uncaught bounce notification'], 'The attached message was received as a bounce.'),
      'announce-owner@lists.partner.test',
      /mailing-list manager/,
    );
  });

  it('a Majordomo owner-<list>@ error', async () => {
    await expectIgnored(message(['From: owner-staff@lists.partner.test', 'Subject: Majordomo results'], 'Command not understood.'), 'owner-staff@lists.partner.test', /mailing-list manager/);
  });

  it('a LISTSERV command reply', async () => {
    await expectIgnored(message(['From: "L-Soft list server" <LISTSERV@lists.partner.test>', 'Subject: Output of your job'], 'Unknown command.'), 'listserv@lists.partner.test', /mailing-list manager/);
  });

  it('a Mailman notice from an ordinary-looking address, marked X-List-Administrivia', async () => {
    await expectIgnored(
      message(['From: Lists <lists@partner.test>', 'Subject: Your message', 'X-List-Administrivia: yes'], 'Held for approval.'),
      'lists@partner.test',
      /Mailing-list manager notice \(X-List-Administrivia/,
    );
  });
});

describe('vacation replies marked only by vendor headers', () => {
  const cases: [string, string][] = [
    ['X-Apple-Action: vacation (iCloud)', 'X-Apple-Action'],
    ['X-Autorespond: yes (qmail autorespond)', 'X-Autorespond'],
    ['X-Autoreply-From: jane@customer.test', 'X-Autoreply-From'],
    ['X-Mail-Autoreply: yes', 'X-Mail-Autoreply'],
    ['X-Precedence: auto_reply', 'X-Precedence'],
    ['X-Autogenerated: Reply', 'X-Autogenerated'],
    ['X-Vacation: yes', 'X-Vacation'],
    ['X-FC-MachineGenerated: true (FirstClass)', 'X-FC-MachineGenerated'],
    ['X-POST-MessageClass: 9; Autoresponder (Tobit David)', 'X-POST-MessageClass'],
    ['Delivered-To: Autoresponder (vpopmail)', 'Delivered-To: Autoresponder'],
  ];
  for (const [header, reason] of cases) {
    it(`${header} is IGNORED`, async () => {
      const from = person();
      await expectIgnored(
        message([`From: Jane Doe <${from}>`, 'Subject: Re: Your printer question', header.replace(/ \(.*\)$/, '')], 'Thank you for your mail. I will read it when I am back.'),
        from,
        new RegExp(reason),
      );
    });
  }
});

describe('vacation replies marked only by their subject', () => {
  const subjects = [
    'Auto reply: Printer',
    'Auto-Reply: Printer',
    'AutoReply',
    'Automatic reply: [CB-ABC1234] Your request was received',
    'Out of Office: Printer',
    'Out of Office AutoReply: Printer',
    'Out of office',
    'Autosvar: Printer',
    'Automatiskt svar: Skrivaren',
    'Abwesenheitsnotiz: Drucker',
    'Automatische Antwort: Drucker',
    'Réponse automatique : Imprimante',
    'Absence: Imprimante',
    'Respuesta automática: Impresora',
    'Fuera de la oficina: Impresora',
    'Risposta automatica: Stampante',
    'Automatisch antwoord: Printer',
    'Afwezig: Printer',
    'Automaattinen vastaus: Tulostin',
    'Automatyczna odpowiedź: Drukarka',
    'Автоматический ответ: Принтер',
    '自動返信: プリンター',
    'Jane Doe is out of the office.',
  ];
  for (const subject of subjects) {
    it(`"${subject}" is IGNORED`, async () => {
      const from = person();
      await expectIgnored(message([`From: Jane Doe <${from}>`, `Subject: ${word(subject)}`], 'I am away until Monday.'), from, /Auto-reply \(an auto-reply subject/);
    });
  }
});

describe('bounces refused instead of recorded: no usable From', () => {
  const cases: [string, string[], string][] = [
    ['a bounce from "MAILER-DAEMON <>" with the null sender', ['From: MAILER-DAEMON <>'], ''],
    ['a bounce from "<>" with the null sender', ['From: <>'], ''],
    ['a bounce without any From header', [], ''],
    ['a broken robot without From, with an envelope sender', [], 'cron@host.partner.test'],
    ['"MAILER-DAEMON <>" with an envelope sender', ['From: MAILER-DAEMON <>'], 'bounce@mx.partner.test'],
    ['a From that is not an address', ['From: Mail Delivery System'], 'bounce@mx.partner.test'],
  ];
  for (const [what, from, mailFrom] of cases) {
    it(`${what} is accepted and recorded as IGNORED (not 550)`, async () => {
      const mail = await expectIgnored(message([...from, 'Subject: Undelivered Mail'], 'Your message could not be delivered.'), mailFrom, /No usable From address/);
      expect(mail).toMatchObject({ fromAddress: '', envelopeSender: mailFrom });
    });
  }

  it('keeps the display name of "MAILER-DAEMON <>" and shows the From header in the reason', async () => {
    const mail = await expectIgnored(message(['From: MAILER-DAEMON <>', 'Subject: failure notice'], 'Hi. This is the qmail-send program.'), '', /No usable From/);
    expect(mail.fromName).toBe('MAILER-DAEMON');
    expect(mail.reason).toContain('MAILER-DAEMON');
  });
});

describe('ordinary mail still opens a ticket', () => {
  it('a customer who writes "Out of office" in the text (not the subject)', async () => {
    const from = person();
    await expectTicket(
      message([`From: Jane Doe <${from}>`, 'Subject: My out-of-office rule does not work'], [
        'Hello,',
        '',
        'I set "Out of office" in Outlook, but the automatic reply never goes out.',
        'Auto reply: nothing happens.',
      ]),
      from,
    );
  });

  it('an Outlook mail with X-Auto-Response-Suppress: All (Outlook sets it on ordinary mail)', async () => {
    const from = person();
    await expectTicket(
      message([
        `From: Jane Doe <${from}>`,
        'Subject: VPN drops every ten minutes',
        'X-Auto-Response-Suppress: All',
        'X-MS-Has-Attach: ',
        'Thread-Index: AdnX0abcdEFGHijklMNOPqrstUVwxyz==',
        'X-Mailer: Microsoft Outlook 16.0',
      ], 'Since this morning the VPN drops every ten minutes.'),
      from,
    );
  });

  it('a person whose address merely looks like no-reply ("noreen@")', async () => {
    const from = `noreen.${unique()}@customer.test`;
    await expectTicket(message([`From: Noreen Reply <${from}>`, 'Subject: Cannot log in'], 'My password does not work.'), from);
    const exact = `noreen@${unique()}.customer.test`;
    await expectTicket(message([`From: Noreen <${exact}>`, 'Subject: Cannot log in either'], 'Same here.'), exact);
  });

  it('a person whose subject begins with a word the auto-reply rules know ("Absence of VAT on the invoice")', async () => {
    const from = person();
    await expectTicket(message([`From: Jane Doe <${from}>`, 'Subject: Absence of VAT on the invoice'], 'The VAT line is missing.'), from);
  });

  it('a customer forwarding a bounce they got (the report is below the forward marker)', async () => {
    const from = person();
    await expectTicket(
      message([`From: Jane Doe <${from}>`, 'Subject: Fwd: my mails to you bounce'], [
        'Hi, every mail I send you comes back. See below.',
        '',
        '---------- Forwarded message ---------',
        'From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>',
        'Reporting-MTA: dns; mx.customer.test',
        'Final-Recipient: rfc822; support@caseboard.test',
        'Action: failed',
        'Status: 5.7.1',
      ]),
      from,
    );
  });

  it('a list post relayed by Mailman (envelope sender …-bounces@, From a person) is a ticket, not an error', async () => {
    const from = person();
    const mail = await changesDuring(() =>
      deliver(message([`From: Jane Doe <${from}>`, 'Subject: Question about the printer', 'X-Mailman-Version: 2.1.39', 'X-BeenThere: users@lists.partner.test'], 'How do I print double-sided?'), 'users-bounces+support=caseboard.test@lists.partner.test'),
    );
    expect(mail).toMatchObject({ InboundMail: 1, Ticket: 1 });
    expect((await latest()).state).toBe('NEW_TICKET');
  });
});
