// What each mail to a customer says, as plain text and HTML. The reference is in the subject as
// [CB-XXXXXXX] (the fallback for matching replies); the access link opens the status page.
import ejs from 'ejs';
import type { MailKind } from '../generated/prisma/enums.js';
import { RESOLUTION_LABEL, type ResolutionCode } from '../domain/enums.js';
import type { MailPayload } from '../services/mail/outbox.js';
import type { StaffNoticeItem, StaffNoticePayload } from '../services/notifications/digest.js';

/** Mail clients show text above this line; replies are cut here (and at quoted text) when they come back. */
export const REPLY_ABOVE = '-- Please reply above this line --';

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

interface Parts {
  subject: string;
  paragraphs: string[];
  /** Quoted text (a reply or resolution note), kept as written. */
  quote?: string;
}

function parts(kind: Exclude<MailKind, 'STAFF_NOTICE'>, p: MailPayload): Parts {
  switch (kind) {
    case 'TICKET_CREATED':
      // Reported by the customer (web form, email): anyone could have used that address, so
      // nothing they wrote is echoed (no subject, no name): the reference and a generic text.
      if (p.fromCustomer) {
        return {
          subject: 'Your request was received',
          paragraphs: [
            `We have logged your request with the reference ${p.reference}.`,
            'Keep this reference: it finds your ticket on our status page, and replying to this mail adds to it.',
            'If you did not contact us, you can ignore this message.',
          ],
        };
      }
      return {
        subject: `Your request was received: ${p.title}`,
        paragraphs: [
          `We have logged your request "${p.title}" with the reference ${p.reference}.`,
          'Keep this reference: it finds your ticket on our status page, and replying to this mail adds to it.',
        ],
      };
    case 'REPLY':
      return {
        subject: `Re: ${p.title}`,
        paragraphs: [`${p.author ?? 'Our support team'} replied about your request ${p.reference}:`],
        quote: p.body ?? '',
      };
    case 'WAITING_ON_CUSTOMER':
      return {
        subject: `We need your answer: ${p.title}`,
        paragraphs: [
          `Your request ${p.reference} is waiting for information from you.`,
          'Please reply to this mail or use the link below; work continues as soon as we hear from you.',
        ],
      };
    case 'RESOLVED': {
      const code = p.resolutionCode as ResolutionCode | undefined;
      return {
        subject: `Resolved: ${p.title}`,
        paragraphs: [
          `Your request ${p.reference} has been resolved${code ? ` (${RESOLUTION_LABEL[code] ?? code})` : ''}.`,
          'If the problem is still there, reply to this mail and the ticket opens again.',
        ],
        quote: p.resolutionNote ?? '',
      };
    }
  }
}

/** The names of the files a mail carries, and of those it would have carried but that were redacted since. */
export interface MailFileNames {
  attached: readonly string[];
  withdrawn: readonly string[];
}

/**
 * Lines that name the files, after the reply's text: some mail clients hide attachments (or strip
 * them), and a customer should know what was sent and what was taken back.
 */
function fileLines({ attached, withdrawn }: MailFileNames): string[] {
  return [
    ...(attached.length ? [`Attached: ${attached.join(', ')}`] : []),
    ...(withdrawn.length === 1 ? [`${withdrawn[0]} was withdrawn by our support team and is not attached.`] : []),
    ...(withdrawn.length > 1 ? [`${withdrawn.join(', ')} were withdrawn by our support team and are not attached.`] : []),
  ];
}

export function renderMail(kind: Exclude<MailKind, 'STAFF_NOTICE'>, payload: MailPayload, accessLink: string, files: MailFileNames = { attached: [], withdrawn: [] }): RenderedMail {
  const { subject, paragraphs, quote } = parts(kind, payload);
  const filed = fileLines(files);
  const greeting = kind === 'TICKET_CREATED' && payload.fromCustomer ? 'Hello,' : `Hello ${payload.name},`;
  const linkLine = `See your ticket at any time (private link, valid for a limited time): ${accessLink}`;
  const text = [
    REPLY_ABOVE,
    '',
    greeting,
    '',
    ...paragraphs.flatMap((line) => [line, '']),
    ...(quote ? [quote.split('\n').map((l) => `    ${l}`).join('\n'), ''] : []),
    ...filed.flatMap((line) => [line, '']),
    linkLine,
    '',
    `Reference: ${payload.reference}`,
  ].join('\n');
  const e = ejs.escapeXML;
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">',
    `<p style="color:#777;font-size:small">${e(REPLY_ABOVE)}</p>`,
    `<p>${e(greeting)}</p>`,
    ...paragraphs.map((line) => `<p>${e(line)}</p>`),
    quote ? `<blockquote style="white-space:pre-wrap;border-left:3px solid #ccc;margin:0;padding-left:1em">${e(quote)}</blockquote>` : '',
    ...filed.map((line) => `<p>${e(line)}</p>`),
    `<p><a href="${e(accessLink)}">See your ticket ${e(payload.reference)}</a> (private link, valid for a limited time)</p>`,
    '</body></html>',
  ].join('\n');
  return { subject: `[${payload.reference}] ${subject}`, text, html };
}

/**
 * A mail to a staff member about their notifications: one (its summary in the subject) or a
 * digest of a burst, each line linking to /notifications/N/open (which marks it read and opens
 * the ticket where it happened; they sign in first). No access link: staff are not customers.
 */
export function renderStaffNotice(p: StaffNoticePayload, baseUrl: string): RenderedMail {
  const items = p.items ?? [];
  const first = items[0];
  const more = Math.max(0, p.count - items.length);
  const subject =
    p.count === 1 && first
      ? `[${first.reference}] ${first.actorName} ${first.summary}`.slice(0, 200)
      : `${p.count} updates on your tickets`;
  const line = (i: StaffNoticeItem) => `[${i.reference}] ${i.title} — ${i.actorName} ${i.summary}`;
  const href = (i: StaffNoticeItem) => `${baseUrl}/notifications/${i.id}/open`;
  const text = [
    `Hello ${p.name},`,
    '',
    p.count === 1 ? 'There is news on a ticket:' : `There are ${p.count} updates on tickets you own or follow:`,
    '',
    ...items.flatMap((i) => [`- ${line(i)}`, `  ${href(i)}`]),
    ...(more ? ['', `… and ${more} more: ${baseUrl}/notifications`] : []),
    '',
    `All your notifications: ${baseUrl}/notifications`,
    `Which of them are mailed to you: ${baseUrl}/profile/notifications`,
  ].join('\n');
  const e = ejs.escapeXML;
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">',
    `<p>${e(`Hello ${p.name},`)}</p>`,
    `<p>${e(p.count === 1 ? 'There is news on a ticket:' : `There are ${p.count} updates on tickets you own or follow:`)}</p>`,
    '<ul>',
    ...items.map((i) => `<li><a href="${e(href(i))}">${e(`[${i.reference}] ${i.title}`)}</a> — ${e(`${i.actorName} ${i.summary}`)}</li>`),
    '</ul>',
    more ? `<p><a href="${e(`${baseUrl}/notifications`)}">${e(`… and ${more} more`)}</a></p>` : '',
    `<p style="color:#777;font-size:small"><a href="${e(`${baseUrl}/profile/notifications`)}">Choose which notifications are mailed to you</a></p>`,
    '</body></html>',
  ].join('\n');
  return { subject: subject.replace(/[\r\n]+/g, ' '), text, html };
}
