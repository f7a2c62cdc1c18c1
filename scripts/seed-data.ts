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

export const SUBJECTS: readonly string[] = [
  'VPN', 'Outlook', 'Printer on floor 3', 'Laptop', 'Wi-Fi in meeting room B', 'Invoice export',
  'Shared drive', 'Teams calls', 'CRM', 'Payroll portal', 'Docking station', 'Second monitor',
  'Mobile app', 'Webshop checkout', 'Nightly backup job', 'Email signature', 'Barcode scanner',
  'Label printer', 'Single sign-on', 'Calendar sync', 'Excel macro', 'ERP month-end report',
  'Phone system', 'Scan to email', 'Antivirus client', 'Windows update', 'File upload',
  'Customer portal', 'Time tracking', 'Remote desktop',
];
export const PROBLEMS: readonly string[] = [
  'drops every few minutes', 'does not start', 'is very slow since yesterday',
  'shows error 0x80070005', 'keeps asking for the password', 'prints blank pages',
  'cannot connect', 'freezes after login', 'shows the wrong totals', 'stopped working after the update',
  'times out', 'crashes when saving', 'is missing data since Monday', "says 'access denied'",
  'sends every email twice', 'has no sound', 'cannot find the server', 'is stuck at 99%',
  'shows an empty page', 'reports a certificate error',
];
export const OPENERS: readonly string[] = [
  'The customer called this morning about the problem in the title and sounded quite frustrated.',
  'Reported by the office manager on behalf of the whole team, who are all affected in the same way.',
  'The customer wrote in through the web form; the text below sums up what they told us on the phone.',
  'A user from the accounts department raised this after the issue came back for the third time this week.',
  'The customer first noticed this on Monday and waited a few days to see whether it would go away.',
  'Our monitoring flagged the issue before the customer called; they confirmed it shortly afterwards.',
  'The reception desk passed this on after the customer stopped by in person and described the problem.',
  'The customer chatted with us late in the afternoon and asked for a call-back first thing tomorrow.',
];
export const DETAILS: readonly string[] = [
  'It happens on two of their five machines; the others, on the same network and version, work normally.',
  'According to the customer nothing was installed or changed recently, but automatic updates are enabled.',
  'The error appears right after signing in and does not go away when the application is restarted.',
  'They sent a screenshot: a dialog with a generic error message and no code that we could look up.',
  'It only happens on the office Wi-Fi; on the wired network or at home everything behaves as expected.',
  'The problem started after their password expired and was changed through the self-service portal.',
  'Other users in the same building report something similar, so this may be wider than one person.',
  'The event log shows repeated warnings from the same service at roughly the time the problem occurs.',
];
export const IMPACTS: readonly string[] = [
  'They cannot send invoices until this works again, and month-end closing is due on Friday.',
  'Two people are blocked and are working from paper for now, which they say cannot last long.',
  'It is annoying rather than blocking: there is a slow way round it, but it costs them time every day.',
  'Their customers are noticing, because orders placed through the shop are not confirmed by email.',
  'The team lead asked us to treat it with priority because an external audit starts next week.',
  'Only one person is affected, and they can use a colleague\u2019s workstation in the meantime.',
];
export const TRIED: readonly string[] = [
  'The customer already restarted the computer and the router, without any change.',
  'They cleared the browser cache and tried a private window; the result was the same.',
  'Reinstalling the client was attempted by a colleague but did not finish because of missing rights.',
  'Nothing has been tried yet: the customer preferred to wait for us before touching anything.',
  'Signing out and back in helps for about an hour, then the problem returns.',
  'They checked that the cables are plugged in and that the device shows no warning lights.',
];
export const ASKS: readonly string[] = [
  'Please call back on the number in the customer record; mornings are best.',
  'The customer would like an update by email once we know more, even if it is not fixed yet.',
  'Remote access is fine with them; they will keep the machine switched on over lunch.',
  'They asked whether someone could come on site if it cannot be solved remotely.',
];
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
export const NOTES: readonly string[] = [
  'Called the customer, no answer. Left a voicemail asking them to call back.',
  'Customer sent the log files; they show timeouts towards the authentication server.',
  'Checked with the network team: no known outage at the customer\u2019s site.',
  'Waiting for the vendor to answer our support case.',
  'Remote session booked for tomorrow at 10:00.',
  'Customer confirms the problem also happens on a second machine.',
];
export const FIXES: readonly string[] = [
  'Cleared the credential manager entries and signed in again.',
  'Updated the network driver to the latest version from the vendor.',
  'Reset the print spooler and reinstalled the printer.',
  'Recreated the user profile on the workstation.',
  'Rolled back the last update of the client software.',
  'Flushed DNS and renewed the DHCP lease.',
];
