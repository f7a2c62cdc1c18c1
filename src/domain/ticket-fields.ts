// How a ticket's tracked fields are named in words: the history timeline, notifications and the
// conflict page all say the same.

/** A field's name in a sentence ("changed urgency from …", "status: Open → Resolved"). */
export const FIELD_LABEL: Record<string, string> = {
  title: 'title',
  description: 'description',
  channel: 'channel',
  environment: 'environment',
  occurrence: 'when and how it happens',
  workaround: 'workaround',
  urgency: 'urgency',
  status: 'status',
  assigneeId: 'owner',
  resolutionCode: 'resolution',
  resolutionNote: 'resolution note',
  internalResolutionNote: 'internal resolution note',
  duplicateOfId: 'duplicate of',
  resolutionArticleId: 'resolving article',
  customerId: 'customer',
  teamId: 'team',
  tags: 'tags',
};

/** Texts too long to quote in a sentence: "edited the description", not its words. */
export const LONG_FIELDS: ReadonlySet<string> = new Set([
  'description',
  'environment',
  'occurrence',
  'workaround',
  'resolutionNote',
  'internalResolutionNote',
]);
