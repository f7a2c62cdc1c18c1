// Word pools for scripts/seed.ts: realistic help-desk text, combined at random in SQL.

export const STAFF: readonly string[] = [
  'Anna Berg', 'Bilal Haddad', 'Chloé Martin', 'Daniel Okafor', 'Eva Lindqvist', 'Farid Nasser',
  'Greta Vogel', 'Hiroshi Tanaka', 'Ines Duarte', 'Jonas Keller', 'Kavya Iyer', 'Lukas Novak',
  'Maria Rossi', 'Nils Andersen', 'Olivia Brown', 'Pavel Horak', 'Quinn Walsh', 'Rosa Jimenez',
  'Samir Benali', 'Tanja Weber',
];
export const ADMIN_NAME = 'Morgan Admin';

export const FIRST_NAMES: readonly string[] = [
  'Adam', 'Alice', 'Amir', 'Ana', 'Ben', 'Bianca', 'Carla', 'Chen', 'David', 'Diana', 'Emil', 'Emma',
  'Felix', 'Fatima', 'George', 'Hannah', 'Hugo', 'Ida', 'Ivan', 'Jana', 'Jack', 'Julia', 'Karim',
  'Laura', 'Leo', 'Lina', 'Marco', 'Mia', 'Noah', 'Nora', 'Omar', 'Paula', 'Peter', 'Rania', 'Ravi',
  'Sara', 'Simon', 'Sofia', 'Tom', 'Uma', 'Victor', 'Wei', 'Yara', 'Zoe', 'Elena', 'Mateo', 'Priya',
  'Lars', 'Aylin', 'Kofi',
];
export const LAST_NAMES: readonly string[] = [
  'Adams', 'Bauer', 'Costa', 'Dubois', 'Evans', 'Fischer', 'Garcia', 'Hansen', 'Ivanova', 'Jensen',
  'Khan', 'Larsen', 'Meyer', 'Nguyen', 'Olsen', 'Patel', 'Quist', 'Romero', 'Schmidt', 'Taylor',
  'Ueda', 'Varga', 'Wagner', 'Xu', 'Yilmaz', 'Zimmermann', 'Moreau', 'Kowalski', 'Silva', 'Murphy',
  'Novak', 'Ortiz', 'Petrov', 'Sato', 'Berger', 'Lopez', 'Holm', 'Becker', 'Mensah', 'Lund',
];
export const ORG_PREFIXES: readonly string[] = [
  'Northwind', 'Blue Harbor', 'Greenfield', 'Redwood', 'Silverline', 'Oakridge', 'Brightwater',
  'Ironbridge', 'Summit', 'Riverside', 'Clearview', 'Stonegate', 'Maple', 'Westbrook', 'Highland',
  'Lakeside', 'Pinecrest', 'Sunrise', 'Harborview', 'Kestrel', 'Foxglove', 'Granite', 'Meridian',
  'Evergreen', 'Copperfield', 'Falcon', 'Bayside', 'Hillcrest', 'Crescent', 'Juniper', 'Aurora',
  'Cobalt', 'Linden', 'Thornbury', 'Windmill', 'Ashford', 'Birchwood', 'Cedar', 'Elmstead', 'Alder',
];
export const ORG_SECTORS: readonly string[] = [
  'Logistics', 'Dental Care', 'Architects', 'Bakery', 'Insurance', 'Law Firm', 'Consulting',
  'Pharmacy', 'Hotels', 'Engineering', 'Accounting', 'Print Shop', 'Veterinary Clinic', 'Schools',
  'Real Estate', 'Travel', 'Foods', 'Robotics', 'Media', 'Construction', 'Clinic', 'Furniture',
  'Opticians', 'Software', 'Garden Centre', 'Energy', 'Textiles', 'Car Rental', 'Brewery', 'Museum',
  'Libraries', 'Fitness', 'Marine', 'Labs', 'Studios', 'Transport', 'Wholesale', 'Bank', 'Charity',
  'Outfitters',
];
export const ORG_COUNT = ORG_PREFIXES.length * ORG_SECTORS.length;

export const ENVIRONMENTS: readonly string[] = [
  'Windows 11 23H2, Microsoft 365 Apps, FortiClient 7.2', 'Windows 10 22H2, Office 2019, on-premises Exchange',
  'macOS 14 Sonoma, Safari and Chrome', 'Ubuntu 22.04 thin clients, Citrix Workspace 2309',
  'iPhone 14 with iOS 17, company app 3.8', 'Android 13 tablets in the warehouse, scanner app 2.1',
  'HP LaserJet M480 on the 3rd floor, print server PRN01', 'Chrome 120 on managed Windows laptops',
  'Lenovo ThinkPad T14 with USB-C dock, two Dell monitors', 'Terminal server RDS02, Windows Server 2019',
];
export const OCCURRENCES: readonly string[] = [
  'Since Monday, several times a day', 'Every morning right after sign-in', 'Only on the office Wi-Fi',
  'Randomly, about once an hour', 'Since the last Windows update', 'When more than ten people are working',
  'Only with large files (over 50 MB)', 'Every time they try to print double-sided',
];
export const WORKAROUNDS: readonly string[] = [
  'Restarting the laptop helps for about an hour.', 'Use the web version instead of the desktop app.',
  'Plug in the network cable instead of using Wi-Fi.', 'Print from the second-floor printer for now.',
  'Send the file as a link from the shared drive instead of an attachment.',
];
/** Three notes per resolution code, in the enum's order (FIXED, WORKAROUND, ... WONT_FIX). */
export const RESOLUTION_NOTES: readonly string[] = [
  'Replaced the faulty driver with the vendor\u2019s current version; confirmed working with the customer.',
  'Corrected the misconfigured setting on the server and asked the user to sign in again; all good now.',
  'Renewed the expired certificate and restarted the service; the customer confirmed it works again.',
  'Set up the documented workaround with the customer until the vendor ships a fix.',
  'Customer uses the web version for now; the desktop client issue is tracked with the vendor.',
  'Moved the user to the wired network as a workaround; Wi-Fi access point replacement is planned.',
  'This is the known issue from the vendor\u2019s advisory; linked it and informed the customer.',
  'Known problem with the current release; the fix is scheduled for the next maintenance window.',
  'Matches the known issue on our status page; the customer will be informed when it is resolved.',
  'The behaviour is intended: explained the setting to the customer and sent them the guide.',
  'Works as designed; the report only shows closed periods. Explained how to change the filter.',
  'The limit is by design for security reasons; explained the reasoning and the approval process.',
  'Same problem as the original ticket, which is being worked on; informed the customer.',
  'Duplicate of an earlier report from the same customer; continued there.',
  'Reported twice by different people in the same team; merged into the original.',
  'Could not reproduce on the customer\u2019s machine or ours; asked them to reopen if it happens again.',
  'Everything works during the remote session; no errors in the logs. Closing until it reappears.',
  'Tried all described steps without seeing the problem; the customer agreed to monitor it.',
  'Unsupported legacy software; the customer was advised to upgrade instead.',
  'The requested change conflicts with company policy; the customer\u2019s manager agreed.',
  'Not worth fixing for the remaining months before the system is replaced; customer informed.',
];

/*
 * The vocabulary (issue 14, "Search at scale"): a few thousand terms — ordinary help-desk words,
 * product names, error codes, software versions, host names — slotted into sentence templates
 * ({c} a component or ordinary word, {p} a product, {v} a version, {e} an error code, {h} a host).
 * Each slot draws its term with a Zipf-like law over the list's order (rank k with probability
 * ~ 1/k: `floor((n + 1) ^ random())` in SQL, scripts/seed.ts), so a few terms are common (the
 * first component or product in 10–40% of tickets), many are medium (0.1–2%) and most are rare
 * (a few hundred tickets in a million). The lists are made the same on every run (a fixed
 * pseudo-random sequence), so the search benchmark (scripts/bench-search.ts) can name a term by
 * its rank.
 */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Ordinary words of a help desk, most frequent first (the order is the Zipf rank). */
const COMPONENT_WORDS = `printer mailbox password laptop account network calendar invoice certificate browser
  monitor server license driver keyboard scanner firewall backup headset database report signature
  spreadsheet router smartphone dashboard attachment permission profile webcam folder shortcut
  toner cartridge docking tablet projector cable adapter charger battery screen mouse speaker
  microphone update installer plugin extension proxy gateway switch hotspot repeater antenna
  modem domain mailbox-rule distribution-list alias forwarding quota archive retention export import
  template macro formula pivot chart workbook presentation slide document notebook wiki sharepoint
  intranet portal timesheet payroll expense receipt purchase-order requisition supplier contract
  quote shipment warehouse pallet barcode label inventory stock order checkout basket coupon
  refund voucher subscription renewal invoice-run reminder dunning ledger journal budget forecast
  audit compliance policy token session cookie cache redirect timeout handshake cipher keystore
  truststore keychain vault secret passphrase pin badge door turnstile camera recorder intercom
  telephone voicemail extension-number hunt-group softphone ringtone conference bridge meeting
  whiteboard recording transcript subtitle codec bandwidth latency jitter packet subnet vlan dhcp
  dns ntp ldap kerberos saml oauth mfa authenticator sms otp recovery reset lockout unlock
  onboarding offboarding leaver joiner mover equipment loan asset tag warranty repair courier
  delivery pickup replacement refurbishment disposal shredding encryption bitlocker filevault
  antivirus quarantine phishing spam junk whitelist blocklist sender domain-key spf dkim dmarc
  bounce relay smtp imap pop exchange tenant licence seat group role mailbox-size storage disk
  partition volume share mapping drive-letter sync conflict duplicate version-history restore
  snapshot replica failover cluster node container image registry pipeline build deployment
  rollback release hotfix patch schedule cron job queue worker thread memory cpu fan temperature
  power ups socket plug outlet lamp ceiling desk chair locker room floor building parking lift
  elevator kitchen reception lobby visitor guest wifi-voucher captive-portal roaming coverage
  signal interference channel frequency mesh controller access-point ethernet fibre patch-panel
  rack cabinet kvm console terminal thin-client citrix-receiver remote-app published-desktop
  profile-disk roaming-profile home-drive redirection gpo registry service-account scheduled-task
  event-log crash-dump blue-screen freeze hang reboot shutdown hibernate sleep wake login logout`
  .split(/\s+/).filter(Boolean);

/** Real product names, most frequent first; generated names follow them. */
const KNOWN_PRODUCTS = `Outlook Teams Excel Word OneDrive SharePoint Zoom Chrome Edge Firefox Windows macOS iOS Android
  Citrix FortiClient AnyConnect GlobalProtect Salesforce HubSpot Zendesk Slack Webex Acrobat Photoshop
  AutoCAD Revit SolidWorks QuickBooks Sage Xero DATEV Navision Dynamics Workday BambooHR Personio
  Jira Confluence Bitbucket GitLab Jenkins Docker Kubernetes VMware Hyper-V Veeam Synology QNAP
  Ubiquiti Meraki Aruba Fortinet SonicWall Sophos Kaspersky Defender CrowdStrike Okta Duo Intune
  Jamf Lansweeper TeamViewer AnyDesk Splashtop LogMeIn Dropbox Box Egnyte Nextcloud Notion Trello
  Asana Monday Miro Figma Canva Mailchimp Shopify WooCommerce Magento Stripe PayPal Adyen Klarna
  SAP Oracle Tableau PowerBI Qlik Snowflake Postgres MySQL MongoDB Redis Elastic Grafana Nagios
  Zabbix PRTG Datto Kaseya ConnectWise Freshdesk ServiceNow Ivanti ManageEngine Bomgar Yealink
  Polycom Poly Jabra Plantronics Logitech Lenovo Dell HP Brother Canon Epson Kyocera Ricoh Xerox
  Zebra Honeywell Datalogic Sonos Bose Samsung LG Philips BenQ Eizo Wacom Apple Microsoft Google`
  .split(/\s+/).filter(Boolean);

const SYLLABLES = ['ba', 'ce', 'da', 'fi', 'go', 'ka', 'le', 'mi', 'no', 'pa', 'qu', 'ra', 'si', 'to', 'va', 'xe', 'zo',
  'lu', 'ne', 'ti', 'or', 'an', 'el', 'ix', 'on', 'ar', 'is', 'um', 'ex', 'io'];
const SUFFIXES = ['', '', 'ly', 'ra', 'ix', 'io', 'ware', 'desk', 'link', 'sync', 'soft', 'view', 'flow', 'base', 'hub', 'pro'];

function generatedProducts(n: number, random: () => number, taken: Set<string>): string[] {
  const out: string[] = [];
  while (out.length < n) {
    const parts = 2 + Math.floor(random() * 2);
    let w = '';
    for (let i = 0; i < parts; i++) w += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    w += SUFFIXES[Math.floor(random() * SUFFIXES.length)];
    const name = w[0]!.toUpperCase() + w.slice(1);
    if (name.length < 5 || taken.has(name.toLowerCase())) continue;
    taken.add(name.toLowerCase());
    out.push(name);
  }
  return out;
}

function shuffled<T>(items: T[], random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const vocabRandom = mulberry32(14);
const takenNames = new Set<string>([...COMPONENT_WORDS, ...KNOWN_PRODUCTS].map((w) => w.toLowerCase()));

/** {c}: ordinary words (~330), in their Zipf order. */
export const VOCAB_COMPONENTS: readonly string[] = COMPONENT_WORDS;
/** {p}: 1,400 product names: the real ones first (most frequent), then made-up ones in a shuffled order. */
export const VOCAB_PRODUCTS: readonly string[] = [
  ...shuffled(KNOWN_PRODUCTS.slice(0, 40), vocabRandom),
  ...shuffled([...KNOWN_PRODUCTS.slice(40), ...generatedProducts(1400 - KNOWN_PRODUCTS.length, vocabRandom, takenNames)], vocabRandom),
];
/** {e}: 900 error codes: Windows HRESULTs, vendor codes, update numbers. */
export const VOCAB_ERRORS: readonly string[] = (() => {
  const out = new Set<string>(['0x80070005', '0x80004005', '0x800ccc0e', '0x8004010f', '0xc000021a']);
  const hex = (n: number) => Math.floor(vocabRandom() * 16 ** n).toString(16).padStart(n, '0');
  while (out.size < 900) {
    const r = vocabRandom();
    if (r < 0.45) out.add(`0x8007${hex(4)}`);
    else if (r < 0.7) out.add(`E${1000 + Math.floor(vocabRandom() * 9000)}`);
    else if (r < 0.85) out.add(`KB${5000000 + Math.floor(vocabRandom() * 100000)}`);
    else out.add(`ERR${100 + Math.floor(vocabRandom() * 900)}`);
  }
  return [...out];
})();
/** {v}: 600 software versions (major.minor.patch). */
export const VOCAB_VERSIONS: readonly string[] = (() => {
  const out = new Set<string>();
  while (out.size < 600) {
    const major = Math.floor(1 + 24 * vocabRandom() ** 2);
    out.add(`${major}.${Math.floor(vocabRandom() * 12)}.${Math.floor(vocabRandom() * 40)}`);
  }
  return [...out];
})();
/** {h}: 400 host names (site, role, number). */
export const VOCAB_HOSTS: readonly string[] = (() => {
  const sites = ['ber', 'lon', 'par', 'mad', 'ams', 'nyc', 'chi', 'sfo', 'tok', 'syd', 'osl', 'waw'];
  const roles = ['fs', 'prn', 'dc', 'sql', 'app', 'web', 'rds', 'exch', 'vpn', 'bkp'];
  const out = new Set<string>();
  while (out.size < 400) {
    out.add(`${sites[Math.floor(vocabRandom() * sites.length)]}${roles[Math.floor(vocabRandom() * roles.length)]}${String(1 + Math.floor(vocabRandom() * 40)).padStart(2, '0')}`);
  }
  return [...out];
})();

/** Ticket titles: a subject ({p} or {c}) and what goes wrong. */
export const TITLE_TEMPLATES: readonly string[] = [
  '{p} {problem}', '{c} {problem}', '{p} {v} {problem}', '{p} {c} {problem}', '{c} on {h} {problem}',
  '{p} shows error {e}', '{c} {problem} after update to {v}', 'Error {e} in {p}', '{p} {c} not working',
  'Cannot use {c} in {p}',
];
/** What goes wrong, in a title ({problem}). */
export const TITLE_PROBLEMS: readonly string[] = [
  'drops every few minutes', 'does not start', 'is very slow', 'keeps asking for the password', 'prints blank pages',
  'cannot connect', 'freezes after login', 'shows the wrong totals', 'stopped working after the update', 'times out',
  'crashes when saving', 'is missing data', "says 'access denied'", 'sends every email twice', 'has no sound',
  'cannot find the server', 'is stuck at 99%', 'shows an empty page', 'reports a certificate error', 'is locked',
  'will not sync', 'loses its settings', 'is greyed out', 'flickers', 'opens the wrong file', 'rejects the licence',
];
/** A description: one sentence of each group, in order, with slots filled. */
export const DESCRIPTION_CONTEXT: readonly string[] = [
  'Since the update of {p} to {v} the {c} {problem}.', 'The customer called about {p}: the {c} {problem}.',
  'Reported by the office manager: {p} on {h} {problem}.', 'Our monitoring flagged {h}; the {c} {problem} there.',
  'A user in accounts says the {c} {problem} whenever {p} is open.', 'Came in through the web form: {c} {problem} since Monday.',
  'Two people in the warehouse report that the {c} {problem}.', 'After moving to the new office the {c} {problem} with {p}.',
  'The {c} {problem} for everyone on {h} since this morning.', '{p} {v} on their laptops: the {c} {problem}.',
  'The reception desk passed this on: {p} {problem} again.', 'Happens since the {c} was replaced last week; {p} {problem}.',
];
export const DESCRIPTION_DETAIL: readonly string[] = [
  'The log shows error {e} right after {p} starts.', 'A dialog says "{e}" and offers to send a report to the vendor.',
  'It only happens on the office Wi-Fi, not on the wired network or at home.', 'The event log on {h} has repeated warnings from {p}.',
  'Other users on {p} {v} are fine; only this {c} is affected.', 'Rolling {p} back to {v} did not change anything.',
  'The {c} works in {p} but not in {p2}.', 'They see {e} when the {c} is plugged in.',
  'It started after the password change through the self-service portal.', 'Two of their five machines are affected; all run {p} {v}.',
  'The screenshot shows {e} and a reference to {h}.', 'The {c} and the {c2} were both checked by their IT contact.',
  'No error code, the window simply closes.', 'The vendor knowledge base mentions {e} for {p} {v}.',
];
export const DESCRIPTION_IMPACT: readonly string[] = [
  'They cannot send invoices until this works again.', 'Two people are blocked and work from paper for now.',
  'It is annoying rather than blocking, but it costs time every day.', 'Their customers notice: orders are not confirmed by email.',
  'Month-end closing is due on Friday, so please treat it with priority.', 'Only one person is affected and can use a colleague\u2019s {c}.',
  'They restarted the {c} and the router, without any change.', 'Reinstalling {p} did not finish because of missing rights.',
  'Clearing the cache of {p} helps for about an hour.', 'Nothing has been tried yet.', 'The {c} was already replaced once this year.',
  'An external audit starts next week and they need {p} for it.',
];
export const DESCRIPTION_ASK: readonly string[] = [
  'Please call back in the morning.', 'An update by email is fine.', 'Remote access is fine with them.',
  'They ask whether someone can come on site.', 'They would like a loan {c} until it is fixed.', '',
];
/** Work-log entries (notes and attempted fixes), with slots. */
export const NOTE_TEMPLATES: readonly string[] = [
  'Called the customer, no answer. Left a voicemail.', 'Customer sent logs: timeouts from {p} towards {h}.',
  'Checked with the network team: no known outage on {h}.', 'Opened a case with the vendor of {p} about {e}.',
  'Remote session booked for tomorrow at 10:00 to look at the {c}.', 'Customer confirms {e} also on a second machine with {p} {v}.',
  'The {c} works with {p} {v}; asked the customer to upgrade.', 'Same as the known issue with {p} and {e}; waiting for the vendor.',
  'Asked for a screenshot of the {c} settings.', 'Found {e} in the event log of {h} at the reported times.',
];
export const FIX_TEMPLATES: readonly string[] = [
  'Cleared the credential manager entries for {p} and signed in again.', 'Updated the {c} driver to {v}.',
  'Reset the print spooler on {h} and reinstalled the {c}.', 'Recreated the user profile; {p} starts again.',
  'Rolled {p} back to {v}.', 'Flushed DNS and renewed the DHCP lease; {h} reachable again.',
  'Replaced the {c}.', 'Renewed the certificate on {h}; {e} gone.', 'Repaired the {p} installation.',
  'Moved the mailbox to a new database on {h}.',
];
