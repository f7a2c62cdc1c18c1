// Signed Message-IDs: every outgoing mail's id carries its ticket's id and an HMAC of it, so a
// reply's In-Reply-To/References name the ticket even when the subject was edited, and nobody can
// make up an id that points into someone else's ticket.
import { createHmac, timingSafeEqual } from 'node:crypto';

const PATTERN = /<cb\.(\d{1,10})\.(\d{1,10})\.([A-Za-z0-9_-]{22})@[^<>\s]+>/g;

export class MessageIds {
  private readonly key: Buffer;

  constructor(secret: string, readonly domain: string) {
    // A key of its own, derived from the secret: a Message-ID never reveals anything else's MAC.
    this.key = createHmac('sha256', secret).update('caseboard message-id v1').digest();
  }

  private sign(ticketId: number, mailId: number): string {
    return createHmac('sha256', this.key).update(`${ticketId}.${mailId}`).digest('base64url').slice(0, 22);
  }

  /** The Message-ID of one mail about a ticket. */
  forMail(ticketId: number, mailId: number): string {
    return `<cb.${ticketId}.${mailId}.${this.sign(ticketId, mailId)}@${this.domain}>`;
  }

  /** The Message-ID of a mail to staff (no ticket: a reply to it names none). */
  forNotice(mailId: number): string {
    return `<cb-notice.${mailId}@${this.domain}>`;
  }

  /** The id every mail about the ticket refers to (In-Reply-To/References), so clients thread them. */
  threadRoot(ticketId: number): string {
    return this.forMail(ticketId, 0);
  }

  /** The tickets named by genuine Caseboard ids in these header values (forged ids are ignored). */
  ticketIdsIn(...headers: (string | string[] | undefined)[]): number[] {
    const found = new Set<number>();
    for (const value of headers.flat()) {
      if (!value) continue;
      for (const m of value.matchAll(PATTERN)) {
        const ticketId = Number(m[1]);
        const expected = Buffer.from(this.sign(ticketId, Number(m[2])));
        const given = Buffer.from(m[3]!);
        if (given.length === expected.length && timingSafeEqual(given, expected)) found.add(ticketId);
      }
    }
    return [...found];
  }
}

/** The domain part of an address like `Support <help@example.com>`. */
export function domainOf(address: string): string {
  const m = /@([^>\s]+)>?\s*$/.exec(address);
  return m?.[1] ?? 'caseboard.localhost';
}
